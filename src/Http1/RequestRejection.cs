namespace OllamaSocketProxy.Http1;

/// <summary>Why a client's request is refused. Each value maps to exactly one status in <see cref="RequestRejections.StatusCode"/>.</summary>
public enum RequestRejection
{
    /// <summary>The request line is not <c>method SP request-target SP HTTP-version</c> (RFC 9112 §3).</summary>
    InvalidRequestLine,

    /// <summary>The request-target has bytes or a shape the proxy never forwards (docs/BEHAVIOUR.md#routing).</summary>
    InvalidRequestTarget,

    /// <summary>A line ends in LF without CR, or a CR stands alone (RFC 9112 §2.2).</summary>
    InvalidLineEnding,

    /// <summary>A field line is malformed: no colon, whitespace before it, obs-fold, or a control byte (RFC 9112 §5).</summary>
    InvalidHeaderField,

    /// <summary>HTTP/1.1 without Host, more than one Host, one that is not a host, or an empty one with an origin-form target (RFC 9112 §3.2).</summary>
    MissingOrDuplicateHost,

    /// <summary>Content-Length is not 1*DIGIT, overflows, or differs between values (RFC 9110 §8.6).</summary>
    InvalidContentLength,

    /// <summary>Both Content-Length and Transfer-Encoding: a request smuggling signature (RFC 9112 §6.3).</summary>
    ContentLengthAndTransferEncoding,

    /// <summary>Two Content-Type fields with different values: which one the upstream would use is not knowable (RFC 9110 §8.3).</summary>
    ConflictingContentType,

    /// <summary>Transfer-Encoding whose final coding is not chunked, chunked twice, or on HTTP/1.0 (RFC 9112 §6.1, §6.3).</summary>
    InvalidTransferEncoding,

    /// <summary>chunked after another coding: framed, but the proxy does not relay transfer codings other than chunked.</summary>
    UnsupportedTransferCoding,

    /// <summary>A chunk-size line, chunk terminator or trailer section is malformed (RFC 9112 §7.1).</summary>
    InvalidChunkedBody,

    /// <summary>An Expect field other than 100-continue (RFC 9110 §10.1.1).</summary>
    UnsupportedExpectation,

    /// <summary>The caller's token is missing or wrong (docs/BEHAVIOUR.md#authentication).</summary>
    Unauthorized,

    /// <summary>CONNECT or TRACE: known, and never forwarded (<see cref="RequestMethods.ThrowIfNotServed"/>, docs/BEHAVIOUR.md#methods).</summary>
    MethodNotAllowed,

    /// <summary>A method the proxy does not serve, <c>get</c> included: methods are case-sensitive (RFC 9110 §9.1, §15.6.2).</summary>
    MethodNotImplemented,

    /// <summary>More than <see cref="RequestMethods.MaxLength"/> bytes and no SP yet: no method is that long (RFC 9112 §3).</summary>
    MethodTooLong,

    /// <summary>The request line is longer than the limit.</summary>
    RequestLineTooLong,

    /// <summary>The head is larger than the limit, or has too many fields.</summary>
    HeadersTooLarge,

    /// <summary>The body is larger than the limit.</summary>
    BodyTooLarge,

    /// <summary>The head did not arrive completely in time.</summary>
    RequestHeadTimeout,

    /// <summary>The body arrived slower than the minimum data rate.</summary>
    RequestBodyTimeout,

    /// <summary>A version other than HTTP/1.0 and HTTP/1.1.</summary>
    HttpVersionNotSupported,

    /// <summary>More client connections than the limit.</summary>
    TooManyConnections,
}

/// <summary>The client sent something the proxy refuses; <see cref="Reason"/> decides the status.</summary>
public sealed class RequestRejectionException(RequestRejection reason)
    : Exception(RequestRejections.Describe(reason))
{
    public RequestRejection Reason { get; } = reason;
}

/// <summary>The one place that turns a <see cref="RequestRejection"/> into a status and a message.</summary>
public static class RequestRejections
{
    [System.Diagnostics.StackTraceHidden]
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Throw(RequestRejection reason) => throw new RequestRejectionException(reason);

    public static int StatusCode(RequestRejection reason) => reason switch
    {
        RequestRejection.Unauthorized => 401,
        RequestRejection.MethodNotAllowed => 405,
        RequestRejection.RequestHeadTimeout or RequestRejection.RequestBodyTimeout => 408,
        RequestRejection.BodyTooLarge => 413,
        RequestRejection.RequestLineTooLong => 414,
        RequestRejection.UnsupportedExpectation => 417,
        RequestRejection.HeadersTooLarge => 431,
        RequestRejection.UnsupportedTransferCoding or RequestRejection.MethodNotImplemented => 501,
        RequestRejection.TooManyConnections => 503,
        RequestRejection.HttpVersionNotSupported => 505,
        _ => 400,
    };

    /// <summary>The text of the JSON error; fixed strings, so no request byte (and no secret) can reach it.</summary>
    public static string Describe(RequestRejection reason) => reason switch
    {
        RequestRejection.InvalidRequestLine => "malformed request line",
        RequestRejection.InvalidRequestTarget => "request target not allowed",
        RequestRejection.InvalidLineEnding => "malformed line ending",
        RequestRejection.InvalidHeaderField => "malformed header field",
        RequestRejection.MissingOrDuplicateHost => "exactly one valid Host header is required",
        RequestRejection.InvalidContentLength => "invalid Content-Length",
        RequestRejection.ContentLengthAndTransferEncoding => "both Content-Length and Transfer-Encoding",
        RequestRejection.InvalidTransferEncoding => "invalid Transfer-Encoding",
        RequestRejection.UnsupportedTransferCoding => "transfer coding not implemented",
        RequestRejection.InvalidChunkedBody => "malformed chunked body",
        RequestRejection.UnsupportedExpectation => "expectation not supported",
        RequestRejection.Unauthorized => "unauthorized",
        RequestRejection.MethodNotAllowed => "method not allowed",
        RequestRejection.MethodNotImplemented => "method not implemented",
        RequestRejection.MethodTooLong => "method too long",
        RequestRejection.ConflictingContentType => "conflicting Content-Type",
        RequestRejection.RequestLineTooLong => "request line too long",
        RequestRejection.HeadersTooLarge => "request headers too large",
        RequestRejection.BodyTooLarge => "request body too large",
        RequestRejection.RequestHeadTimeout => "request headers not received in time",
        RequestRejection.RequestBodyTimeout => "request body too slow",
        RequestRejection.HttpVersionNotSupported => "HTTP version not supported",
        RequestRejection.TooManyConnections => "too many connections",
        _ => "bad request",
    };

    /// <summary>The field lines the status of <paramref name="reason"/> calls for, besides the error's own.</summary>
    public static ReadOnlySpan<byte> ExtraFields(RequestRejection reason) => reason switch
    {
        // RFC 9110 §11.6.1: a 401 MUST send a challenge.
        RequestRejection.Unauthorized => "WWW-Authenticate: Bearer\r\n"u8,

        // RFC 9110 §15.5.6: a 405 MUST send Allow; for a 501 it tells the client what would work (§10.2.1).
        RequestRejection.MethodNotAllowed or RequestRejection.MethodNotImplemented => RequestMethods.AllowField,
        _ => default,
    };
}
