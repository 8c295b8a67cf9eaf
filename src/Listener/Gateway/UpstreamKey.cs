using System.Text;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// One key of <c>OLLAMA_API_KEY</c>. Logs and metrics name it only by <see cref="Label"/>; the key itself lives
/// only inside <see cref="AuthorizationLine"/>, the field line the request rewriter writes upstream.
/// </summary>
public sealed class UpstreamKey
{
    private const string Variable = "OLLAMA_API_KEY";

    /// <summary>Characters of the key a label shows; a key no longer than this shows none.</summary>
    internal const int LabelTailLength = 4;

    private readonly byte[] _authorizationLine;

    private UpstreamKey(int position, string key)
    {
        Position = position;
        Label = key.Length > LabelTailLength ? $"key#{position} (…{key[^LabelTailLength..]})" : $"key#{position}";
        _authorizationLine = Encoding.ASCII.GetBytes($"Authorization: Bearer {key}\r\n");
    }

    /// <summary>The key's 1-based position in <c>OLLAMA_API_KEY</c>.</summary>
    public int Position { get; }

    /// <summary><c>key#N (…abcd)</c>: the position and at most the last four characters.</summary>
    public string Label { get; }

    /// <summary><c>Authorization: Bearer &lt;key&gt;\r\n</c>, built once; writing it allocates nothing.</summary>
    public ReadOnlySpan<byte> AuthorizationLine => _authorizationLine;

    /// <summary><see cref="AuthorizationLine"/>, for a request that keeps it across awaits.</summary>
    public ReadOnlyMemory<byte> AuthorizationLineMemory => _authorizationLine;

    public override string ToString() => Label;

    /// <summary>
    /// Reads <c>OLLAMA_API_KEY</c>: one key, or several separated by commas, whitespace around each trimmed.
    /// Throws <see cref="ProxyConfigurationException"/> for a missing value, an empty element, a key with a
    /// character that may not stand in a field value, or a key given twice. No message contains a key.
    /// </summary>
    public static IReadOnlyList<UpstreamKey> ParseList(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ProxyConfigurationException(Variable, "is required but not set");
        }

        var elements = value.Split(',', StringSplitOptions.TrimEntries);
        var keys = new UpstreamKey[elements.Length];
        for (var i = 0; i < elements.Length; i++)
        {
            var key = elements[i];
            var position = i + 1;
            if (key.Length == 0)
            {
                throw new ProxyConfigurationException(
                    Variable, $"has an empty key at position {position} of {elements.Length} (two commas in a row, or a comma at the start or end)");
            }

            // The key goes into a header line: only visible ASCII, or it could split the head (RFC 9110 §5.5).
            foreach (var c in key)
            {
                if (c is < '!' or > '~')
                {
                    throw new ProxyConfigurationException(
                        Variable, $"key {position} may contain only visible ASCII characters (no spaces or control characters)");
                }
            }

            for (var j = 0; j < i; j++)
            {
                if (string.Equals(elements[j], key, StringComparison.Ordinal))
                {
                    throw new ProxyConfigurationException(Variable, $"keys {j + 1} and {position} are the same key");
                }
            }

            keys[i] = new UpstreamKey(position, key);
        }

        return keys;
    }
}
