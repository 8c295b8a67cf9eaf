namespace OllamaSocketProxy.Listener;

/// <summary>What went wrong while forwarding, named by phase and party. Reported in one place: <c>ClientConnection.ReportAsync</c>.</summary>
internal enum ForwarderError
{
    /// <summary>No connection to the upstream: refused, unreachable or name not resolved.</summary>
    UpstreamUnreachable,

    /// <summary>The TLS handshake with the upstream failed (certificate untrusted or for another name).</summary>
    UpstreamTls,

    /// <summary>Connecting to the upstream took longer than the connect timeout.</summary>
    UpstreamConnectTimeout,

    /// <summary>Writing the request head or body to the upstream failed.</summary>
    RequestUpstream,

    /// <summary>The client's request body ended early, was malformed, too large or too slow.</summary>
    RequestBodyClient,

    /// <summary>The upstream closed or reset before a response head arrived.</summary>
    ResponseHeadUpstream,

    /// <summary>No response head within the upstream response timeout.</summary>
    ResponseHeadTimeout,

    /// <summary>The upstream's response head or framing is malformed, or switches protocols.</summary>
    ResponseInvalid,

    /// <summary>The upstream died, went silent or broke framing in the middle of the response body.</summary>
    ResponseBodyUpstream,

    /// <summary>The client went away, or stopped reading, while the response was relayed.</summary>
    ResponseBodyClient,

    /// <summary>The shutdown grace period (PROXY_SHUTDOWN_TIMEOUT) ended before the exchange did.</summary>
    ShutdownTimeout,
}

internal static class ForwarderErrors
{
    /// <summary>The status for an error found before the response head was sent; after it, every error aborts.</summary>
    public static int StatusCode(ForwarderError error) => error switch
    {
        ForwarderError.ResponseHeadTimeout => 504,
        ForwarderError.ShutdownTimeout => 503,
        ForwarderError.RequestBodyClient => 400,
        _ => 502,
    };

    /// <summary>Fixed texts for the JSON error body: no request byte, no secret.</summary>
    public static string Describe(ForwarderError error) => error switch
    {
        ForwarderError.UpstreamUnreachable => "upstream unreachable",
        ForwarderError.UpstreamTls => "upstream TLS handshake failed",
        ForwarderError.UpstreamConnectTimeout => "upstream connect timed out",
        ForwarderError.RequestUpstream => "upstream closed the connection while the request was sent",
        ForwarderError.RequestBodyClient => "request body incomplete",
        ForwarderError.ResponseHeadUpstream => "upstream closed the connection before responding",
        ForwarderError.ResponseHeadTimeout => "upstream did not respond in time",
        ForwarderError.ResponseInvalid => "upstream sent an invalid response",
        ForwarderError.ResponseBodyUpstream => "upstream response truncated",
        ForwarderError.ShutdownTimeout => "proxy shutting down",
        _ => "client went away",
    };
}
