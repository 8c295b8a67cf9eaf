namespace OllamaSocketProxy.Http1;

public enum BodyKind : byte
{
    /// <summary>No body at all.</summary>
    None,

    /// <summary>Exactly <see cref="BodyFraming.Length"/> bytes.</summary>
    ContentLength,

    /// <summary>Chunked transfer coding, ended by the last chunk and trailer section.</summary>
    Chunked,

    /// <summary>Everything until the sender closes the connection (responses only).</summary>
    UntilClose,
}

/// <summary>How a message's body is delimited, decided in one place for each direction (RFC 9112 §6.3, in order).</summary>
public readonly record struct BodyFraming(BodyKind Kind, long Length)
{
    public static readonly BodyFraming None = new(BodyKind.None, 0);
    public static readonly BodyFraming Chunked = new(BodyKind.Chunked, -1);
    public static readonly BodyFraming UntilClose = new(BodyKind.UntilClose, -1);

    /// <summary>The framing of a request body; throws the rejection for framing the proxy refuses.</summary>
    public static BodyFraming ForRequest(RequestHead head)
    {
        var coding = head.TransferCoding;

        // §6.3 point 3: both → a smuggling signature; the proxy refuses rather than guesses, and closes.
        if (coding != TransferCoding.None && head.HasContentLength)
        {
            RequestRejections.Throw(RequestRejection.ContentLengthAndTransferEncoding);
        }

        switch (coding)
        {
            // §6.1: Transfer-Encoding in an HTTP/1.0 message means its framing cannot be trusted.
            case not TransferCoding.None when head.Version == Http1Version.Http10:
            // §6.3 point 4: a request whose final coding is not chunked cannot be framed: 400 and close.
            case TransferCoding.Invalid:
                RequestRejections.Throw(RequestRejection.InvalidTransferEncoding);
                break;
            case TransferCoding.ChunkedAfterOtherCodings:
                RequestRejections.Throw(RequestRejection.UnsupportedTransferCoding);
                break;
            case TransferCoding.Chunked:
                return Chunked;
        }

        // §6.3 point 5: an invalid Content-Length is unrecoverable.
        if (head.HasInvalidContentLength)
        {
            RequestRejections.Throw(RequestRejection.InvalidContentLength);
        }

        // §6.3 point 6 and 7: Content-Length, or no body.
        return head.HasContentLength && head.ContentLength > 0 ? new(BodyKind.ContentLength, head.ContentLength) : None;
    }

    /// <summary>
    /// The framing of a response to <paramref name="requestMethod"/>; throws <see cref="InvalidResponseException"/>
    /// for framing a proxy must not pass on.
    /// </summary>
    public static BodyFraming ForResponse(RequestMethod requestMethod, ResponseHead head)
    {
        // §6.3 point 1: HEAD, 1xx, 204 and 304 responses end at the head, whatever their fields say.
        if (requestMethod == RequestMethod.Head || head.IsInterim || head.StatusCode is 204 or 304)
        {
            return None;
        }

        var coding = head.TransferCoding;

        // §6.3 point 3: a proxy MUST NOT pass on a response with both; the upstream connection is closed.
        if (coding != TransferCoding.None && head.HasContentLength)
        {
            throw new InvalidResponseException("upstream response has both Content-Length and Transfer-Encoding");
        }

        switch (coding)
        {
            // Chunked last frames the body whatever came before it; the other codings pass through untouched.
            case TransferCoding.Chunked:
            case TransferCoding.ChunkedAfterOtherCodings:
                return Chunked;

            // §6.3 point 4: chunked not last in a response: the body runs until the connection closes.
            case TransferCoding.Invalid:
                return UntilClose;
        }

        if (head.HasInvalidContentLength)
        {
            throw new InvalidResponseException("upstream response has an invalid Content-Length");
        }

        return head.HasContentLength ? new(BodyKind.ContentLength, head.ContentLength) : UntilClose;
    }
}
