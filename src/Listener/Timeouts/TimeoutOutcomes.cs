using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>The phases of a request, each with a deadline of its own (the setting that bounds it in brackets).</summary>
internal enum TimeoutReason
{
    /// <summary>No phase armed yet.</summary>
    None,

    /// <summary>An idle keep-alive connection waits for the next request's first byte (PROXY_KEEPALIVE_TIMEOUT).</summary>
    KeepAlive,

    /// <summary>A request began and its head is not complete yet (PROXY_REQUEST_HEAD_TIMEOUT).</summary>
    RequestHead,

    /// <summary>A streamed request body flows to the upstream (PROXY_MIN_REQUEST_BODY_RATE after its grace).</summary>
    RequestBody,

    /// <summary>From renting an upstream connection until the response head is in (PROXY_UPSTREAM_RESPONSE_TIMEOUT).</summary>
    UpstreamResponse,

    /// <summary>The response body is relayed; each read must come within the idle time (PROXY_UPSTREAM_IDLE_TIMEOUT).</summary>
    ResponseBody,
}

/// <summary>What a fired token means for the client: close quietly, refuse with a status, or report a forwarding error.</summary>
internal enum TimeoutAction
{
    /// <summary>Nobody is waiting for an answer: close without a response.</summary>
    CloseQuietly,

    /// <summary>Answer with <see cref="TimeoutOutcome.Rejection"/>'s status (a client-side failure).</summary>
    Reject,

    /// <summary>Report <see cref="TimeoutOutcome.Error"/> (a forwarding failure: a status, or an abort once the response began).</summary>
    Report,
}

internal readonly record struct TimeoutOutcome(TimeoutAction Action, RequestRejection Rejection = default, ForwarderError Error = default)
{
    public static TimeoutOutcome CloseQuietly => new(TimeoutAction.CloseQuietly);

    public static TimeoutOutcome Reject(RequestRejection rejection) => new(TimeoutAction.Reject, Rejection: rejection);

    public static TimeoutOutcome Report(ForwarderError error) => new(TimeoutAction.Report, Error: error);
}

internal static class TimeoutOutcomes
{
    /// <summary>
    /// The one table from a phase and the reason its token fired to what the client gets. A client that is gone, or
    /// a keep-alive connection with no request, gets no answer; a deadline of the client's own phases is the client's
    /// fault (408); a deadline while the upstream works is the upstream's (504, or an abort once the answer began).
    /// </summary>
    public static TimeoutOutcome For(TimeoutReason phase, CancelCause cause) => (phase, cause) switch
    {
        (TimeoutReason.None or TimeoutReason.KeepAlive, _) => TimeoutOutcome.CloseQuietly,
        (TimeoutReason.RequestHead, CancelCause.Timeout) => TimeoutOutcome.Reject(RequestRejection.RequestHeadTimeout),
        (TimeoutReason.RequestHead, _) => TimeoutOutcome.CloseQuietly,
        (TimeoutReason.RequestBody, CancelCause.Timeout) => TimeoutOutcome.Reject(RequestRejection.RequestBodyTimeout),
        (TimeoutReason.RequestBody, _) => TimeoutOutcome.Report(ForwarderError.RequestBodyClient),
        (_, CancelCause.ClientGone) => TimeoutOutcome.Report(ForwarderError.ResponseBodyClient),
        (_, CancelCause.Shutdown) => TimeoutOutcome.Report(ForwarderError.ShutdownTimeout),
        (TimeoutReason.UpstreamResponse, _) => TimeoutOutcome.Report(ForwarderError.ResponseHeadTimeout),
        (TimeoutReason.ResponseBody, _) => TimeoutOutcome.Report(ForwarderError.ResponseBodyUpstream),
        _ => TimeoutOutcome.CloseQuietly,
    };
}
