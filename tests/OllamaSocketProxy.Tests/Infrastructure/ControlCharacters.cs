namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// Names for the control characters that malformed-request cases need, so test case arguments (and thus test
/// names) stay printable: <c>{CR}</c>, <c>{LF}</c>, <c>{NUL}</c>, <c>{SOH}</c>, <c>{TAB}</c>, <c>{DEL}</c>.
/// </summary>
public static class ControlCharacters
{
    public static string Expand(string text) => text
        .Replace("{CR}", "\r", StringComparison.Ordinal)
        .Replace("{LF}", "\n", StringComparison.Ordinal)
        .Replace("{NUL}", "\0", StringComparison.Ordinal)
        .Replace("{SOH}", "\u0001", StringComparison.Ordinal)
        .Replace("{TAB}", "\t", StringComparison.Ordinal)
        .Replace("{DEL}", "\u007f", StringComparison.Ordinal);
}
