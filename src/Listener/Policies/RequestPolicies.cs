using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>The policies of a proxy, called in order at each point of the request pipeline (see <see cref="RequestPolicy"/>).</summary>
internal sealed class RequestPolicies
{
    private readonly RequestPolicy[] _policies;

    public RequestPolicies(IReadOnlyList<RequestPolicy> policies)
    {
        _policies = [.. policies];
        for (var i = 0; i < _policies.Length; i++)
        {
            _policies[i].Index = i;
            ObservesResponseBodies |= _policies[i].ObservesResponseBody;
        }
    }

    public int Count => _policies.Length;

    public void OnHead(RequestContext request)
    {
        foreach (var policy in _policies)
        {
            policy.OnHead(request);
        }
    }

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

    /// <summary>The strongest verdict (refuse over retry over relay); every policy sees the head.</summary>
    public ResponseVerdict OnResponseHead(RequestContext request, ResponseHead response, in ReadOnlySequence<byte> bodyStart)
    {
        var verdict = ResponseVerdict.Relay;
        foreach (var policy in _policies)
        {
            var said = policy.OnResponseHead(request, response, bodyStart);
            if (said > verdict)
            {
                verdict = said;
            }
        }

        return verdict;
    }

    /// <summary>The most body bytes any policy wants to see with the response head.</summary>
    public int ResponseBodyWanted(RequestContext request, ResponseHead response)
    {
        var wanted = 0;
        foreach (var policy in _policies)
        {
            wanted = Math.Max(wanted, policy.ResponseBodyWanted(request, response));
        }

        return wanted;
    }

    public void OnResponseBody(RequestContext request, in ReadOnlySequence<byte> bytes)
    {
        foreach (var policy in _policies)
        {
            if (policy.ObservesResponseBody)
            {
                policy.OnResponseBody(request, bytes);
            }
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

    /// <summary>Some policy reads response bodies: the relay shows it every read.</summary>
    public bool ObservesResponseBodies { get; }
}
