namespace OllamaSocketProxy.Http1;

/// <summary>Character classes of RFC 9110 §5.6.2 (token) and §5.5 (field values), as lookup tables.</summary>
internal static class HttpSyntax
{
    /// <summary>tchar = "!" / "#" / "$" / "%" / "&amp;" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.</summary>
    private static readonly bool[] s_token = Table(c =>
        c is >= '0' and <= '9' or >= 'a' and <= 'z' or >= 'A' and <= 'Z'
        || "!#$%&'*+-.^_`|~".Contains((char)c));

    /// <summary>field-vchar = VCHAR / obs-text, plus SP and HTAB inside a value; CR, LF, NUL and other controls are not.</summary>
    private static readonly bool[] s_fieldValue = Table(c => c is '\t' or >= ' ' and not (char)0x7F);

    /// <summary>What may stand in a request-target: visible ASCII only (RFC 9112 §3.2; no SP, no controls, no obs-text).</summary>
    private static readonly bool[] s_target = Table(c => c is > ' ' and < (char)0x7F);

    private static bool[] Table(Func<int, bool> member)
    {
        var table = new bool[256];
        for (var c = 0; c < 256; c++)
        {
            table[c] = member(c);
        }

        return table;
    }

    public static bool IsToken(ReadOnlySpan<byte> span)
    {
        if (span.IsEmpty)
        {
            return false;
        }

        foreach (var b in span)
        {
            if (!s_token[b])
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsFieldValue(ReadOnlySpan<byte> span)
    {
        foreach (var b in span)
        {
            if (!s_fieldValue[b])
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsTargetChar(byte b) => s_target[b];

    /// <summary>Removes optional whitespace (OWS, RFC 9110 §5.6.3) from both ends.</summary>
    public static ReadOnlySpan<byte> TrimWhitespace(ReadOnlySpan<byte> span) => span.Trim(" \t"u8);

    /// <summary>
    /// The next element of a comma-separated list (RFC 9110 §5.6.1), trimmed; empty elements are skipped.
    /// Returns false when the list is exhausted.
    /// </summary>
    public static bool TryNextListElement(ref ReadOnlySpan<byte> list, out ReadOnlySpan<byte> element)
    {
        while (!list.IsEmpty)
        {
            var comma = list.IndexOf((byte)',');
            var raw = comma < 0 ? list : list[..comma];
            list = comma < 0 ? default : list[(comma + 1)..];
            element = TrimWhitespace(raw);
            if (!element.IsEmpty)
            {
                return true;
            }
        }

        element = default;
        return false;
    }

    /// <summary>
    /// Parses 1*DIGIT by hand (RFC 9110 §8.6): no sign, no whitespace, no hex, overflow is an error.
    /// <c>long.Parse</c> and <c>Utf8Parser</c> both accept more than the grammar does.
    /// </summary>
    public static bool TryParseDecimal(ReadOnlySpan<byte> digits, out long value)
    {
        value = 0;
        if (digits.IsEmpty)
        {
            return false;
        }

        foreach (var b in digits)
        {
            var digit = b - '0';
            if ((uint)digit > 9)
            {
                return false;
            }

            if (value > (long.MaxValue - digit) / 10)
            {
                return false;
            }

            value = (value * 10) + digit;
        }

        return true;
    }

    /// <summary>The value of a hex digit, or -1.</summary>
    public static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>Writes a non-negative number in decimal, the only form Content-Length and status codes take.</summary>
    public static void WriteDecimal(System.Buffers.IBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(20);
        System.Buffers.Text.Utf8Formatter.TryFormat(value, span, out var written);
        output.Advance(written);
    }
}
