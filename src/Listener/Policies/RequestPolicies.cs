using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>The policies of a proxy, called in order at each point of the request pipeline (see <see cref="RequestPolicy"/>).</summary>
internal sealed class RequestPolicies(IReadOnlyList<RequestPolicy> policies)
{
    private readonly RequestPolicy[] _policies = [.. policies];

    public static RequestPolicies None { get; } = new([]);

    /// <summary>The first refusal, in order; later policies are not asked.</summary>
    public PolicyVerdict OnRequest(RequestContext request)
    {
        foreach (var policy in _policies)
        {
            request.PoliciesAsked++;
            var verdict = policy.OnRequest(request);
            if (verdict.IsRefusal)
            {
                return verdict;
            }
        }

        return PolicyVerdict.Continue;
    }

    /// <summary>Retry when any policy asks for it; every policy sees the head.</summary>
    public ResponseVerdict OnResponseHead(RequestContext request, ResponseHead response)
    {
        var verdict = ResponseVerdict.Relay;
        foreach (var policy in _policies)
        {
            if (policy.OnResponseHead(request, response) == ResponseVerdict.Retry)
            {
                verdict = ResponseVerdict.Retry;
            }
        }

        return verdict;
    }

    public void OnResponseBody(RequestContext request, in ReadOnlySequence<byte> bytes)
    {
        foreach (var policy in _policies)
        {
            policy.OnResponseBody(request, bytes);
        }
    }

    /// <summary>Tells every policy that was asked about the request (and only those) that it is over.</summary>
    public void OnCompleted(RequestContext request)
    {
        for (var i = 0; i < request.PoliciesAsked; i++)
        {
            _policies[i].OnCompleted(request);
        }

        request.PoliciesAsked = 0;
    }

    public bool IsEmpty => _policies.Length == 0;
}
