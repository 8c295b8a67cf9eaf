using System.Buffers;
using System.Text;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Ollama's error shape, <c>{"error":"message"}</c>, for messages that carry a configured name (a client's, say):
/// the message is escaped as a JSON string (RFC 8259 §7), so a quote, backslash or control character in the name
/// cannot break the body. Non-ASCII stays UTF-8, which JSON allows.
/// </summary>
public static class JsonErrorBody
{
    public static byte[] Create(string message)
    {
        var output = new ArrayBufferWriter<byte>(message.Length + 16);
        Write(output, message);
        return output.WrittenSpan.ToArray();
    }

    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<char> message)
    {
        output.Write("{\"error\":\""u8);
        var start = 0;
        for (var i = 0; i < message.Length; i++)
        {
            var escape = message[i] switch
            {
                '"' => "\\\""u8,
                '\\' => "\\\\"u8,
                '\n' => "\\n"u8,
                '\r' => "\\r"u8,
                '\t' => "\\t"u8,
                < ' ' => "\\u00"u8,
                _ => default,
            };
            if (escape.IsEmpty)
            {
                continue;
            }

            WriteUtf8(output, message[start..i]);
            output.Write(escape);
            if (escape.Length == 4)
            {
                // The other control characters, as \u00XX.
                Span<byte> hex = [(byte)"0123456789abcdef"[message[i] >> 4], (byte)"0123456789abcdef"[message[i] & 0xF]];
                output.Write(hex);
            }

            start = i + 1;
        }

        WriteUtf8(output, message[start..]);
        output.Write("\"}"u8);
    }

    /// <summary>UTF-8, with a lone surrogate replaced by U+FFFD rather than written as invalid UTF-8.</summary>
    private static void WriteUtf8(IBufferWriter<byte> output, ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
