using System.Buffers;

namespace OllamaSocketProxy.Http1;

/// <summary>What <see cref="HeadScanner.TryFindEnd"/> found.</summary>
internal enum HeadScan : byte
{
    Complete,
    Incomplete,
    FirstLineTooLong,
    HeadTooLarge,
    /// <summary>A CR not followed by LF, or an empty line that is a bare LF (RFC 9112 §2.2).</summary>
    BadLineEnding,
}

/// <summary>
/// The framing of a head, shared by requests and responses: lines up to an empty line (RFC 9112 §2.1),
/// found and bounded before any of them is interpreted, then split into field lines.
/// </summary>
internal static class HeadScanner
{
    /// <summary>
    /// Moves <paramref name="probe"/> past the head's empty line. Stops early, with the limit that was hit,
    /// as soon as the bytes present already exceed it; <see cref="HeadScan.Incomplete"/> means "read more".
    /// </summary>
    public static HeadScan TryFindEnd(ref SequenceReader<byte> probe, long maxFirstLine, long maxHead, long maxFields)
    {
        var startConsumed = probe.Consumed;
        var available = probe.Remaining;
        if (!probe.TryAdvanceTo((byte)'\n'))
        {
            return available > maxFirstLine + 2 ? HeadScan.FirstLineTooLong : HeadScan.Incomplete;
        }

        if (probe.Consumed - startConsumed - 2 > maxFirstLine)
        {
            return HeadScan.FirstLineTooLong;
        }

        var lines = 0;
        while (true)
        {
            if (probe.Consumed - startConsumed > maxHead)
            {
                return HeadScan.HeadTooLarge;
            }

            if (!probe.TryPeek(out var first))
            {
                return HeadScan.Incomplete;
            }

            if (first == '\r')
            {
                if (!probe.TryPeek(1, out var second))
                {
                    return HeadScan.Incomplete;
                }

                if (second != '\n')
                {
                    return HeadScan.BadLineEnding;
                }

                probe.Advance(2);
                return probe.Consumed - startConsumed > maxHead ? HeadScan.HeadTooLarge : HeadScan.Complete;
            }

            // A bare LF as the empty line would otherwise read as one more field line, and the head would never end.
            if (first == '\n')
            {
                return HeadScan.BadLineEnding;
            }

            var lineStart = probe.Consumed;
            if (!probe.TryAdvanceTo((byte)'\n'))
            {
                return lineStart - startConsumed + probe.Remaining > maxHead ? HeadScan.HeadTooLarge : HeadScan.Incomplete;
            }

            if (++lines > maxFields)
            {
                return HeadScan.HeadTooLarge;
            }
        }
    }

    /// <summary>Length of the first line of <paramref name="head"/>, or -1 when it does not end in CRLF.</summary>
    public static int FirstLineLength(ReadOnlySpan<byte> head)
    {
        var lineEnd = head.IndexOf((byte)'\n');
        return lineEnd > 0 && head[lineEnd - 1] == '\r' ? lineEnd - 1 : -1;
    }

    /// <summary>
    /// Parses the field lines that follow the first line into <paramref name="head"/>. Returns false on a
    /// malformed field line or a line that ends in a bare LF (RFC 9112 §2.2, §5).
    /// </summary>
    public static bool TryParseFields(MessageHead head, long maxFields)
    {
        var bytes = head.Bytes;
        var position = bytes.IndexOf((byte)'\n') + 1;
        while (bytes[position] != '\r')
        {
            var lineEnd = position + bytes[position..].IndexOf((byte)'\n');
            if (bytes[lineEnd - 1] != '\r'
                || !FieldLineParser.TryParse(bytes[position..(lineEnd - 1)], position, out var field)
                || !head.TryAddField(field, maxFields))
            {
                return false;
            }

            position = lineEnd + 1;
        }

        return true;
    }
}
