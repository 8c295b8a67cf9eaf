using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// Everything one request owns, from its first byte to its access-log line: the parsed heads, the routing and framing
/// decisions, who the client is, how far the response got. A connection keeps one and <see cref="Begin"/> resets it
/// as a unit when the next request starts, so nothing of one request can leak into the next. Policies read it and
/// keep their own per-request notes in <see cref="PolicyState"/>.
/// </summary>
internal sealed class RequestContext
{
    public RequestHead Head { get; } = new();

    public ResponseHead Response { get; } = new();

    public AccessLogEntry Log { get; } = new();

    /// <summary>A request has begun (its first byte arrived) and is not logged yet.</summary>
    public bool InProgress { get; private set; }

    /// <summary>The head parsed; <see cref="Head"/> and <see cref="Target"/> are valid.</summary>
    public bool HeadParsed { get; set; }

    public MappedTarget Target { get; set; }

    public BodyFraming Framing { get; set; }

    /// <summary>
    /// The whole body is in the client pipe, in <see cref="HeldBody"/>, and stays there until the response head has
    /// come, so the request can be sent again (a pooled connection found dead, a policy's retry).
    /// </summary>
    public bool BodyHeld { get; set; }

    /// <summary>The held body (empty when there is none or it is streamed); valid until the request is sent.</summary>
    public ReadOnlySequence<byte> HeldBody { get; set; }

    /// <summary>Whether the request can be sent again: nothing reached the client and the body is held.</summary>
    public bool CanResend => BodyHeld && !ResponseStarted;

    /// <summary>Who sent it, once authenticated.</summary>
    public ClientIdentity? Client { get; set; }

    /// <summary>How many policies <see cref="RequestPolicies.OnRequest"/> asked (they, and only they, hear the end).</summary>
    public int PoliciesAsked { get; set; }

    /// <summary>A policy's notes about this request (for one policy; policies with more notes keep them keyed by this context).</summary>
    public object? PolicyState { get; set; }

    /// <summary>The refusal a policy returned, to be answered.</summary>
    public PolicyVerdict Refusal { get; set; }

    /// <summary>A response head (the proxy's own or the upstream's) went to the client: errors can only abort now.</summary>
    public bool ResponseStarted { get; set; }

    /// <summary>The framing of the final response whose head was relayed.</summary>
    public BodyFraming ResponseFraming { get; set; }

    /// <summary>The response goes to an HTTP/1.0 client without chunked framing.</summary>
    public bool Dechunk { get; set; }

    /// <summary>The client connection closes after this response.</summary>
    public bool CloseAfterResponse { get; set; }

    /// <summary>Starts the next request on this connection: every field back to its initial state.</summary>
    public void Begin(long timestamp)
    {
        Head.Reset();
        Response.Reset();
        Log.Reset(timestamp);
        InProgress = true;
        HeadParsed = false;
        Target = default;
        Framing = default;
        BodyHeld = false;
        HeldBody = default;
        Client = null;
        PoliciesAsked = 0;
        PolicyState = null;
        Refusal = default;
        ResponseStarted = false;
        ResponseFraming = default;
        Dechunk = false;
        CloseAfterResponse = false;
    }

    /// <summary>The request is over (logged); the heads give back any pooled memory they held.</summary>
    public void End()
    {
        InProgress = false;
        HeldBody = default;
        Head.Reset();
        Response.Reset();
    }
}
