using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// A feature that acts on a request in flight: a model allow-list, a rate limit, the choice of upstream key, a usage
/// counter. Policies plug into the request pipeline (docs/ARCHITECTURE.md#policies) after authentication has named
/// the client; the loop that reads, forwards and relays calls them at fixed points and never learns their names, as
/// YARP's transforms and Envoy's HTTP filters are called. Every hook has a do-nothing default, so a policy overrides
/// only the points it needs. Hooks run on the connection's thread, one request at a time per connection, and must not
/// block: a policy that stores or counts hands the work to a queue of its own.
/// </summary>
internal abstract class RequestPolicy
{
    /// <summary>This policy's place in the pipeline: the slot of <see cref="RequestContext.PolicyState"/> it may use.</summary>
    public int Index { get; internal set; }

    /// <summary>
    /// The head is parsed, before anything is answered (the proxy's own answers and refusals included) and before
    /// authentication: a policy may add fields to whatever response this request gets (<see cref="RequestContext.ResponseFields"/>).
    /// </summary>
    public virtual void OnHead(RequestContext request)
    {
    }

    /// <summary>
    /// Before anything goes upstream, once the head is parsed, the client authenticated and (when the body is small
    /// enough to be held) the whole body is in <see cref="RequestContext.HeldBody"/>. Returns
    /// <see cref="PolicyVerdict.Continue"/>, or a refusal the proxy answers without contacting the upstream.
    /// </summary>
    public virtual PolicyVerdict OnRequest(RequestContext request) => PolicyVerdict.Continue;

    /// <summary>
    /// A final response head came from the upstream and is about to be relayed; <paramref name="bodyStart"/> holds the
    /// body bytes that came with it (as framed on the wire). <see cref="ResponseVerdict.Retry"/> discards the response
    /// and sends the request again on a new upstream connection, honoured only while the request can be sent again
    /// (<see cref="RequestContext.CanResend"/>); <see cref="ResponseVerdict.Refuse"/> discards it and answers
    /// <see cref="RequestContext.Refusal"/> instead. Every policy sees every final head.
    /// </summary>
    public virtual ResponseVerdict OnResponseHead(RequestContext request, ResponseHead response, in ReadOnlySequence<byte> bodyStart) =>
        ResponseVerdict.Relay;

    /// <summary>
    /// How many body bytes this policy wants to see in <see cref="OnResponseHead"/>'s <c>bodyStart</c> (a 429's short JSON
    /// that names its limit, say); the relay waits for them, up to the end of the body, before asking. 0 by default.
    /// </summary>
    public virtual int ResponseBodyWanted(RequestContext request, ResponseHead response) => 0;

    /// <summary>
    /// Whether this policy reads response bodies (<see cref="OnResponseBody"/>); only then does the relay show it the
    /// bytes, so a proxy whose policies do not read them pays nothing per read.
    /// </summary>
    public virtual bool ObservesResponseBody => false;

    /// <summary>
    /// Bytes of the response body, exactly as they go to the client, each time a read is relayed; called only when
    /// <see cref="ObservesResponseBody"/> is true.
    /// </summary>
    public virtual void OnResponseBody(RequestContext request, in ReadOnlySequence<byte> bytes)
    {
    }

    /// <summary>
    /// The request is over, however it ended (answered, refused, failed, client gone). Called once for every request
    /// whose <see cref="OnRequest"/> was called, so what <see cref="OnRequest"/> took can be given back here.
    /// </summary>
    public virtual void OnCompleted(RequestContext request)
    {
    }
}

/// <summary>What a policy decided before anything went upstream.</summary>
internal readonly struct PolicyVerdict
{
    private PolicyVerdict(int status, ReadOnlyMemory<byte> jsonBody, ReadOnlyMemory<byte> extraFields)
    {
        Status = status;
        JsonBody = jsonBody;
        ExtraFields = extraFields;
    }

    /// <summary>Let the request go on.</summary>
    public static PolicyVerdict Continue => default;

    /// <summary>
    /// Refuse with <paramref name="status"/> and a JSON body in Ollama's error shape (<c>{"error":"…"}</c>, already
    /// escaped); <paramref name="extraFields"/> are whole field lines, CRLF included (e.g. <c>Retry-After</c>).
    /// </summary>
    public static PolicyVerdict Refuse(int status, ReadOnlyMemory<byte> jsonBody, ReadOnlyMemory<byte> extraFields = default) =>
        new(status, jsonBody, extraFields);

    public bool IsRefusal => Status != 0;

    public int Status { get; }

    public ReadOnlyMemory<byte> JsonBody { get; }

    public ReadOnlyMemory<byte> ExtraFields { get; }
}

/// <summary>What a policy decided about a response head.</summary>
internal enum ResponseVerdict
{
    /// <summary>Relay it to the client.</summary>
    Relay,

    /// <summary>Drop it and send the request again (for example with another upstream key after a 429).</summary>
    Retry,

    /// <summary>Drop it and answer the policy's <see cref="RequestContext.Refusal"/> (for example when no key is left).</summary>
    Refuse,
}
