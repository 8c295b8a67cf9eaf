using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;

namespace OllamaSocketProxy.Http1;

/// <summary>The <c>Date</c> field line of a response, in IMF-fixdate, the one form a sender generates (RFC 9110 §5.6.7).</summary>
public static class HttpDate
{
    /// <summary><c>Date: Sun, 06 Nov 1994 08:49:37 GMT</c> and CRLF: IMF-fixdate has a fixed length.</summary>
    public const int FieldLineLength = 37;

    /// <summary>Writes the field line for <paramref name="time"/>, in UTC and whole seconds, into the first <see cref="FieldLineLength"/> bytes of <paramref name="destination"/>.</summary>
    public static void WriteFieldLine(DateTimeOffset time, Span<byte> destination)
    {
        "Date: "u8.CopyTo(destination);

        // 'R' is RFC 1123's format, which IMF-fixdate is, for a DateTime taken as GMT: hence UtcDateTime, never the offset's wall time.
        var formatted = Utf8Formatter.TryFormat(time.UtcDateTime, destination[6..], out var written, new StandardFormat('R'));
        Debug.Assert(formatted && written == FieldLineLength - 8);
        "\r\n"u8.CopyTo(destination[(FieldLineLength - 2)..]);
    }
}
