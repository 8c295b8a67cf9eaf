using System.Buffers;
using System.Text.Json;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Compares a JSON property name with a short ASCII name the way Ollama's server matches a request's fields: Go's
/// encoding/json unescapes the name, then accepts it in any case. Go folds a few non-ASCII letters onto ASCII ones
/// (U+017F onto "s", U+0131 onto "i", U+212A onto "k"); <c>model</c> and <c>name</c> hold none of those letters,
/// so for them ASCII case-insensitivity is exactly Go's rule.
/// </summary>
internal static class JsonKey
{
    /// <summary>The longest name, as sent, that can still mean one of ours: six letters, each written <c>\uXXXX</c>.</summary>
    public const int MaxRawLength = 36;

    /// <summary>Whether the property name at <paramref name="reader"/> is <paramref name="lowerName"/> up to ASCII case.</summary>
    public static bool Is(ref readonly Utf8JsonReader reader, ReadOnlySpan<byte> lowerName)
    {
        if (!reader.HasValueSequence)
        {
            return EqualsIgnoreCase(reader.ValueSpan, lowerName);
        }

        var raw = reader.ValueSequence;
        if (raw.Length > MaxRawLength)
        {
            return false;
        }

        Span<byte> copy = stackalloc byte[MaxRawLength];
        raw.CopyTo(copy);
        return EqualsIgnoreCase(copy[..(int)raw.Length], lowerName);
    }

    /// <summary>
    /// Whether <paramref name="raw"/>, a JSON string's content as sent (escapes included, RFC 8259 §7), is
    /// <paramref name="lowerName"/> (lower-case ASCII) up to ASCII case.
    /// </summary>
    public static bool EqualsIgnoreCase(ReadOnlySpan<byte> raw, ReadOnlySpan<byte> lowerName)
    {
        if (raw.Length > MaxRawLength)
        {
            return false;
        }

        var matched = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            int c = raw[i];
            if (c == '\\')
            {
                if (++i == raw.Length)
                {
                    return false;
                }

                c = raw[i] switch
                {
                    (byte)'u' when i + 4 < raw.Length => HexQuad(raw.Slice(i + 1, 4)),
                    (byte)'"' => '"',
                    (byte)'\\' => '\\',
                    (byte)'/' => '/',
                    _ => -1, // \b \f \n \r \t: controls, in no name of ours; anything else is not JSON
                };
                if (raw[i] == 'u')
                {
                    i += 4;
                }
            }

            // Anything outside ASCII (raw UTF-8 or an escaped code point) cannot fold onto our ASCII letters.
            if (c is < 0 or >= 0x80 || matched == lowerName.Length || ToLower(c) != lowerName[matched])
            {
                return false;
            }

            matched++;
        }

        return matched == lowerName.Length;
    }

    private static int ToLower(int c) => c is >= 'A' and <= 'Z' ? c | 0x20 : c;

    private static int HexQuad(ReadOnlySpan<byte> hex)
    {
        var value = 0;
        foreach (var digit in hex)
        {
            var nibble = HexDigit.Value(digit);
            if (nibble < 0)
            {
                return -1;
            }

            value = (value << 4) | nibble;
        }

        return value;
    }
}
