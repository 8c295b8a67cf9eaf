using System.Globalization;
using System.Text;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>The <c>Retry-After</c> field of an upstream answer (RFC 9110 §10.2.3): a delay in seconds, or an HTTP-date.</summary>
public static class RetryAfter
{
    /// <summary>RFC 9110 §5.6.7: a recipient accepts all three formats; IMF-fixdate is the one senders use.</summary>
    private static readonly string[] s_httpDateFormats =
    [
        "ddd, dd MMM yyyy HH:mm:ss 'GMT'", // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        "dddd, dd-MMM-yy HH:mm:ss 'GMT'", // obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        "ddd MMM d HH:mm:ss yyyy", // obsolete asctime: Sun Nov  6 08:49:37 1994 (AllowInnerWhite takes the padding)
    ];

    /// <summary>A bigger delay is read as this one; the pool caps a bench far below it (<see cref="BenchLadder.MaxBench"/>).</summary>
    private const long MaxDelaySeconds = 10L * 365 * 86_400;

    /// <summary>Longest HTTP-date (RFC 850 with the longest day name), a little slack included.</summary>
    private const int MaxDateLength = 40;

    /// <summary>The value of the first <c>Retry-After</c> field of <paramref name="head"/>; empty when there is none.</summary>
    public static ReadOnlySpan<byte> Find(ResponseHead head)
    {
        var bytes = head.Bytes;
        foreach (var field in head.Fields)
        {
            if (field.Known == KnownField.Other && Ascii.EqualsIgnoreCase(field.Name(bytes), "Retry-After"u8))
            {
                return field.Value(bytes);
            }
        }

        return default;
    }

    /// <summary>
    /// The time <paramref name="value"/> names, seconds counted from <paramref name="now"/>. False for an empty or
    /// malformed value, which is then ignored as if absent.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> value, DateTimeOffset now, out DateTimeOffset until)
    {
        value = value.Trim(" \t"u8);
        until = default;
        if (value.IsEmpty)
        {
            return false;
        }

        // delay-seconds = 1*DIGIT; counted by hand so that no sign, space or overflow slips through.
        if (IsAllDigits(value))
        {
            var seconds = 0L;
            foreach (var digit in value)
            {
                seconds = Math.Min(seconds * 10 + (digit - '0'), MaxDelaySeconds);
            }

            until = now.AddSeconds(seconds);
            return true;
        }

        if (value.Length > MaxDateLength || !Ascii.IsValid(value))
        {
            return false;
        }

        return DateTimeOffset.TryParseExact(
            Encoding.ASCII.GetString(value), s_httpDateFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowInnerWhite, out until);
    }

    private static bool IsAllDigits(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
        }

        return true;
    }
}
