using System.Buffers;

namespace OllamaSocketProxy.Http1;

/// <summary>Parses an upstream response head (RFC 9112 §4): <c>HTTP-version SP status-code SP [reason-phrase]</c> and field lines.</summary>
public static class ResponseHeadParser
{
    // The proxy trusts the upstream more than a client, but still bounds what it buffers.
    private const int MaxStatusLineSize = 8 * 1024;
    private const int MaxHeadSize = 64 * 1024;
    private const int MaxFieldCount = 256;

    /// <summary>
    /// Returns false when the head is not complete yet (the reader is left where it was); throws
    /// <see cref="InvalidResponseException"/> when it is malformed; else fills <paramref name="head"/>.
    /// </summary>
    public static bool TryParse(ref SequenceReader<byte> reader, ResponseHead head)
    {
        var probe = reader;
        switch (HeadScanner.TryFindEnd(ref probe, MaxStatusLineSize, MaxHeadSize, MaxFieldCount))
        {
            case HeadScan.Incomplete:
                return false;
            case HeadScan.FirstLineTooLong:
            case HeadScan.HeadTooLarge:
                throw new InvalidResponseException("upstream response head too large");
            case HeadScan.BadLineEnding:
                throw new InvalidResponseException("malformed upstream response head");
        }

        head.Reset();
        head.SetBytes(reader.Sequence.Slice(reader.Position, probe.Position));
        var lineLength = HeadScanner.FirstLineLength(head.Bytes);
        if (lineLength < 0 || !TryParseStatusLine(head.Bytes[..lineLength], out var version, out var status))
        {
            throw new InvalidResponseException("malformed upstream status line");
        }

        head.SetStatusLine(version, status, lineLength);
        if (!HeadScanner.TryParseFields(head, MaxFieldCount))
        {
            throw new InvalidResponseException("malformed upstream header field");
        }

        reader = probe;
        return true;
    }

    private static bool TryParseStatusLine(ReadOnlySpan<byte> line, out Http1Version version, out int status)
    {
        version = line.StartsWith("HTTP/1.1 "u8) ? Http1Version.Http11 : Http1Version.Http10;
        status = 0;
        if (line.Length < 12 || !(line.StartsWith("HTTP/1.1 "u8) || line.StartsWith("HTTP/1.0 "u8))
            || (line.Length > 12 && line[12] != ' '))
        {
            return false;
        }

        foreach (var b in line[9..12])
        {
            if (!char.IsAsciiDigit((char)b))
            {
                return false;
            }

            status = (status * 10) + (b - '0');
        }

        // The reason phrase may hold HTAB, SP, VCHAR and obs-text, nothing else (RFC 9112 §4).
        return status >= 100 && HttpSyntax.IsFieldValue(line[12..]);
    }
}
