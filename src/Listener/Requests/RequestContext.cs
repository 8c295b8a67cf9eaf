using System.Buffers;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// Everything one request owns, from its first byte to its access-log line: the parsed heads, the routing and framing
/// decisions, who the client is, how far the response got. A connection keeps one and <see cref="Begin"/> resets it
/// as a unit when the next request starts, so nothing of one request can leak into the next. Policies read it and
/// keep their own per-request notes in their slot of <see cref="PolicyState"/>.
/// </summary>
internal sealed class RequestContext(int policyCount = 0)
{
    private readonly object?[] _policyState = new object?[policyCount];
    private readonly object?[] _connectionState = new object?[policyCount];
    private ReadOnlySequence<byte> _heldBody;

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
    public ReadOnlySequence<byte> HeldBody
    {
        get => _heldBody;
        set
        {
            _heldBody = value;
            BodyModel.Reset(value);
        }
    }

    /// <summary>The model <see cref="HeldBody"/> names, read once for every policy that asks.</summary>
    public BodyModel BodyModel { get; } = new();

    /// <summary>The proxy answered the client's <c>Expect: 100-continue</c> with its own <c>100 Continue</c>.</summary>
    public bool ContinueSent { get; set; }

    /// <summary>Whether the request can be sent again: nothing reached the client and the body is held.</summary>
    public bool CanResend => BodyHeld && !ResponseStarted;

    /// <summary>Who sent it, once authenticated.</summary>
    public ClientDefinition? Client { get; set; }

    /// <summary>The model the request names, when a policy read it (for the access log).</summary>
    public string? Model { get; set; }

    /// <summary>The <c>Authorization</c> field line the upstream gets: the key a policy chose for this request.</summary>
    public ReadOnlyMemory<byte> UpstreamAuthorization { get; set; }

    /// <summary>The chosen key's label (<c>key#2 (…abcd)</c>), for the access log; never the key.</summary>
    public string? KeyLabel { get; set; }

    /// <summary>Ask the upstream for an answer without a content coding (the proxy rewrites the answer).</summary>
    public bool IdentityEncoding { get; set; }

    /// <summary>Rewrites a successful answer's body before it goes to the client (for example, a filtered model list).</summary>
    public IResponseTransform? ResponseTransform { get; set; }

    /// <summary>The final response is read whole and rewritten by <see cref="ResponseTransform"/>, not relayed.</summary>
    public bool Transforming { get; set; }

    /// <summary>Field lines, CRLF included, added to whatever response this request gets (CORS, for example).</summary>
    public ArrayBufferWriter<byte> ResponseFields { get; } = new(256);

    /// <summary>How many policies <see cref="RequestPolicies.OnRequest"/> asked (they, and only they, hear the end).</summary>
    public int PoliciesAsked { get; set; }

    /// <summary>Each policy's note about this request, in the slot of its <see cref="RequestPolicy.Index"/>.</summary>
    public Span<object?> PolicyState => _policyState;

    /// <summary>
    /// Each policy's note about the connection, in the slot of its <see cref="RequestPolicy.Index"/>: kept from one
    /// request to the next (<see cref="Begin"/> leaves it), so a policy can reuse what it needs per request (a reader,
    /// a buffer) without allocating.
    /// </summary>
    public Span<object?> ConnectionState => _connectionState;

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
        ContinueSent = false;
        Client = null;
        Model = null;
        UpstreamAuthorization = default;
        KeyLabel = null;
        IdentityEncoding = false;
        ResponseTransform = null;
        Transforming = false;
        ResponseFields.ResetWrittenCount();
        PoliciesAsked = 0;
        Array.Clear(_policyState);
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
