using System.Text;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>Bytes as test text: Latin-1 both ways, so every byte value has one character.</summary>
public static class Latin1
{
    public static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>Readable in a failure message: controls and non-ASCII as escapes.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            _ = b switch
            {
                (byte)'\r' => text.Append("\\r"),
                (byte)'\n' => text.Append("\\n"),
                (byte)'\t' => text.Append("\\t"),
                (byte)'\\' => text.Append("\\\\"),
                < 0x20 or >= 0x7F => text.Append("\\x").Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)),
                _ => text.Append((char)b),
            };
        }

        return text.ToString();
    }
}
