using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>Copies a JSON string value out of a reader without making a <see cref="string"/>.</summary>
internal static class JsonString
{
    /// <summary>
    /// Copies the string token at <paramref name="reader"/>, unescaped, into <paramref name="destination"/>. False when
    /// it does not fit as sent (an escaped name is never shorter than the name, so the check is on the raw length), or
    /// when it is not valid UTF-8: an invalid byte, or an escaped lone surrogate (RFC 8259 §8.2).
    /// </summary>
    public static bool TryCopy(ref readonly Utf8JsonReader reader, Span<byte> destination, out int length)
    {
        length = 0;
        var rawLength = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (rawLength > destination.Length)
        {
            return false;
        }

        if (!reader.ValueIsEscaped)
        {
            if (reader.HasValueSequence)
            {
                reader.ValueSequence.CopyTo(destination);
            }
            else
            {
                reader.ValueSpan.CopyTo(destination);
            }

            length = (int)rawLength;
            return Utf8.IsValid(destination[..length]);
        }

        try
        {
            length = reader.CopyString(destination);
            return true;
        }
        catch (InvalidOperationException)
        {
            // CopyString's only answer to invalid UTF-8 or a lone surrogate: both are malformed input.
            length = 0;
            return false;
        }
    }
}
