using System.Buffers;

namespace OllamaSocketProxy.Http1;

/// <summary>
/// Finds a complete request head in the buffer, bounded by <see cref="RequestLimits"/>, and parses it into a
/// <see cref="RequestHead"/>. Nothing is interpreted before the whole head is present, and nothing is consumed
/// unless it parses.
/// </summary>
public static class RequestHeadParser
{
    /// <summary>
    /// Returns false when the head is not complete yet (the reader is left where it was); throws
    /// <see cref="RequestRejectionException"/> when it is malformed or over a limit; else fills
    /// <paramref name="head"/> and advances the reader past the empty line that ends the head.
    /// </summary>
    public static bool TryParse(ref SequenceReader<byte> reader, RequestLimits limits, RequestHead head)
    {
        var probe = reader;

        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
        while (probe.IsNext("\r\n"u8, advancePast: true))
        {
            if (probe.Consumed - reader.Consumed > limits.MaxRequestLineSize)
            {
                RequestRejections.Throw(RequestRejection.InvalidRequestLine);
            }
        }

        // A line limit shorter than a method would be hit first: with such a limit the line's length decides alone.
        if (limits.MaxRequestLineSize >= RequestMethods.MaxLength && !RequestLineParser.MethodCanEnd(probe))
        {
            RequestRejections.Throw(RequestRejection.MethodTooLong);
        }

        var start = probe.Position;
        switch (HeadScanner.TryFindEnd(ref probe, limits.MaxRequestLineSize, limits.MaxHeadSize, limits.MaxHeaderCount))
        {
            case HeadScan.Incomplete:
                return false;
            case HeadScan.FirstLineTooLong:
                RequestRejections.Throw(RequestRejection.RequestLineTooLong);
                break;
            case HeadScan.HeadTooLarge:
                RequestRejections.Throw(RequestRejection.HeadersTooLarge);
                break;
            case HeadScan.BadLineEnding:
                RequestRejections.Throw(RequestRejection.InvalidLineEnding);
                break;
        }

        head.Reset();
        head.SetBytes(reader.Sequence.Slice(start, probe.Position));

        var lineLength = HeadScanner.FirstLineLength(head.Bytes);
        if (lineLength < 0)
        {
            RequestRejections.Throw(RequestRejection.InvalidLineEnding);
        }

        RequestLineParser.Parse(head.Bytes[..lineLength], head);
        if (!HeadScanner.TryParseFields(head, limits.MaxHeaderCount))
        {
            RequestRejections.Throw(RequestRejection.InvalidHeaderField);
        }

        head.Validate();
        reader = probe;
        return true;
    }
}
