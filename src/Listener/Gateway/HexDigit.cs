namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>Hexadecimal digits, as in percent-escapes (RFC 3986 §2.1) and JSON's <c>\uXXXX</c> (RFC 8259 §7).</summary>
internal static class HexDigit
{
    /// <summary>The digit's value, or -1.</summary>
    public static int Value(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
