using System.Buffers;
using System.Text.Json;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Matches a JSON property name, fed as sent (escapes included, RFC 8259 §7) one byte at a time, against a short
/// lower-case ASCII name, the way a Go server may match a request's fields: encoding/json unescapes the name and
/// accepts it in any case, and its v2 folding also skips <c>_</c> and <c>-</c>. Go folds a few non-ASCII letters onto
/// ASCII ones too (long s onto "s", the Kelvin sign onto "k"); the names matched here hold none of those letters, so
/// ASCII case-insensitivity is the whole rule. Matching more spellings than a server does only makes the proxy
/// stricter. Needs no buffer: a name of any length is matched as it streams.
/// </summary>
internal struct JsonNameMatcher
{
    private int _matched;
    private int _codeUnit;
    private byte _escape; // 0: none; 1: after '\'; 2 to 5: within \uXXXX, that many minus two digits read
    private bool _failed;

    /// <summary>True once the name can no longer match, whatever follows.</summary>
    public readonly bool Failed => _failed;

    /// <summary>Whether the property name at <paramref name="reader"/> is <paramref name="lowerName"/>.</summary>
    public static bool Matches(ref readonly Utf8JsonReader reader, ReadOnlySpan<byte> lowerName)
    {
        if (!reader.HasValueSequence)
        {
            return Matches(reader.ValueSpan, lowerName);
        }

        var matcher = default(JsonNameMatcher);
        foreach (var segment in reader.ValueSequence)
        {
            matcher.Feed(segment.Span, lowerName);
        }

        return matcher.IsMatch(lowerName);
    }

    /// <summary>
    /// Whether a property name, its bytes as sent between the quotes, is <paramref name="lowerName"/>. Escapes, <c>_</c>
    /// and <c>-</c> only ever lengthen a name as sent, so a shorter one is told at once.
    /// </summary>
    public static bool Matches(ReadOnlySpan<byte> sent, ReadOnlySpan<byte> lowerName)
    {
        if (sent.Length < lowerName.Length)
        {
            return false;
        }

        var matcher = default(JsonNameMatcher);
        matcher.Feed(sent, lowerName);
        return matcher.IsMatch(lowerName);
    }

    /// <summary>Whether the name fed so far is <paramref name="lowerName"/>.</summary>
    public readonly bool IsMatch(ReadOnlySpan<byte> lowerName) => !_failed && _escape == 0 && _matched == lowerName.Length;

    public void Feed(ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> lowerName)
    {
        for (var i = 0; i < bytes.Length && !_failed; i++)
        {
            Feed(bytes[i], lowerName);
        }
    }

    /// <summary>Feeds the next byte of the name as sent.</summary>
    public void Feed(byte b, ReadOnlySpan<byte> lowerName)
    {
        if (_failed)
        {
            return;
        }

        int c;
        switch (_escape)
        {
            case 0 when b == '\\':
                _escape = 1;
                return;
            case 0:
                c = b;
                break;
            case 1 when b == 'u':
                _escape = 2;
                _codeUnit = 0;
                return;
            case 1:
                _escape = 0;
                c = b is (byte)'"' or (byte)'\\' or (byte)'/' ? b : -1; // \b \f \n \r \t: controls, in no name of ours
                break;
            default:
                var digit = HexDigit.Value(b);
                _codeUnit = (_codeUnit << 4) | digit;
                if (digit < 0)
                {
                    _failed = true;
                    return;
                }

                if (++_escape < 6)
                {
                    return;
                }

                _escape = 0;
                c = _codeUnit;
                break;
        }

        if (c is '_' or '-')
        {
            return;
        }

        // Anything outside ASCII (raw UTF-8 or an escaped code point) cannot be one of our ASCII letters.
        if (c is < 0 or >= 0x80 || _matched == lowerName.Length || (c is >= 'A' and <= 'Z' ? c | 0x20 : c) != lowerName[_matched])
        {
            _failed = true;
            return;
        }

        _matched++;
    }
}
