using System.Globalization;

namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// The <c>status</c> label of a response: its three-digit code as text, made once per code and then reused, so that
/// labelling a request allocates nothing. A code outside 100–999 is <see cref="Other"/>.
/// </summary>
internal static class StatusLabel
{
    public const string Other = "other";

    private const int First = 100;

    // Filled on first use of each code; two threads that race write equal strings, either of which is fine.
    private static readonly string?[] s_labels = new string?[1000 - First];

    public static string For(int status)
    {
        var index = status - First;
        if ((uint)index >= (uint)s_labels.Length)
        {
            return Other;
        }

        return s_labels[index] ??= status.ToString(CultureInfo.InvariantCulture);
    }
}
