namespace OllamaSocketProxy.Listener.Usage;

/// <summary>A status code's class as the usage store keeps it (RFC 9110 §15: the first digit is the class).</summary>
public static class UsageStatusClass
{
    /// <summary>No status: the client left, or the connection failed, before an answer was sent.</summary>
    public const string None = "-";

    private static readonly string[] s_classes = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    /// <summary><c>2xx</c> for 200 to 299, and so on; <see cref="None"/> outside 100 to 599. Allocates nothing.</summary>
    public static string Of(int status) => status is >= 100 and <= 599 ? s_classes[(status / 100) - 1] : None;
}
