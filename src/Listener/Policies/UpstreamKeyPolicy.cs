using System.Buffers;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// Chooses the upstream key of each request from the keys that are not benched (README.md#several-clients-and-keys).
/// An upstream 429 benches its key and a 401 or 403 disables it; while the request can still be sent again, it goes
/// at once on the next key. When no key is left, the answer is the pool's own: 429 with <c>Retry-After</c> until the
/// first key returns, or 502 when every key was refused.
/// </summary>
internal sealed class UpstreamKeyPolicy(UpstreamKeyPool keys) : RequestPolicy
{
    public override PolicyVerdict OnRequest(RequestContext request)
    {
        if (!keys.TryChoose(out var key, out var unavailable))
        {
            return Refusal(unavailable);
        }

        Use(request, key);
        return PolicyVerdict.Continue;
    }

    public override ResponseVerdict OnResponseHead(RequestContext request, ResponseHead response, in ReadOnlySequence<byte> bodyStart)
    {
        var key = (UpstreamKey)request.PolicyState[Index]!;
        var status = response.StatusCode;
        var outcome = keys.OnResponse(key, status, status == 429 ? RetryAfter.Find(response) : default, bodyStart);
        if (outcome == KeyOutcome.Served || !request.CanResend)
        {
            return ResponseVerdict.Relay;
        }

        if (keys.TryChoose(out var next, out var unavailable, except: key))
        {
            Use(request, next);
            return ResponseVerdict.Retry;
        }

        request.Refusal = Refusal(unavailable);
        return ResponseVerdict.Refuse;
    }

    /// <summary>A 429 or 403 is judged by its short JSON body (which limit; which refusal), so the relay waits for it.</summary>
    public override int ResponseBodyWanted(RequestContext request, ResponseHead response) =>
        response.StatusCode is 429 or 403 ? 4096 : 0;

    private void Use(RequestContext request, UpstreamKey key)
    {
        request.PolicyState[Index] = key;
        request.UpstreamAuthorization = key.AuthorizationLineMemory;
        request.KeyLabel = key.Label;
    }

    private static PolicyVerdict Refusal(NoKeyAvailable unavailable)
    {
        var body = new ArrayBufferWriter<byte>(128);
        unavailable.WriteErrorBody(body);
        var retryAfter = new ArrayBufferWriter<byte>(32);
        unavailable.WriteRetryAfterField(retryAfter);
        return PolicyVerdict.Refuse(unavailable.Status, body.WrittenMemory, retryAfter.WrittenMemory);
    }
}
