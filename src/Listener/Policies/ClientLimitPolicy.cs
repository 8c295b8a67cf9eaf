using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// A client's <c>max_concurrent</c> and <c>requests_per_minute</c> (README.md#several-clients-and-keys): over either,
/// the answer is 429 with <c>Retry-After</c> and nothing goes upstream. A slot taken here is given back when the request
/// ends, however it ends. The limiters follow the clients file across reloads, keeping each client's state.
/// </summary>
internal sealed class ClientLimitPolicy(ClientRegistrySource clients, TimeProvider timeProvider) : RequestPolicy
{
    private readonly ClientLimiters _limiters = new(timeProvider);
    private readonly Lock _reloading = new();
    private ClientRegistry? _limitsOf;

    public override PolicyVerdict OnRequest(RequestContext request)
    {
        var client = request.Client!;
        if (client.MaxConcurrent is null && client.RequestsPerMinute is null)
        {
            return PolicyVerdict.Continue;
        }

        Follow(clients.Current);
        if (!_limiters.TryGet(client.Name, out var limiter))
        {
            return PolicyVerdict.Continue;
        }

        if (!limiter.TryAcquire(out var refusal))
        {
            // Refusals are rare; their few bytes are made here rather than kept per client.
            var retryAfter = new System.Buffers.ArrayBufferWriter<byte>(24);
            refusal.WriteRetryAfterField(retryAfter);
            return PolicyVerdict.Refuse(429, refusal.ErrorBody.ToArray(), retryAfter.WrittenMemory);
        }

        request.PolicyState[Index] = limiter;
        return PolicyVerdict.Continue;
    }

    public override void OnCompleted(RequestContext request)
    {
        if (request.PolicyState[Index] is ClientLimiter limiter)
        {
            limiter.Release();
        }
    }

    /// <summary>Takes the limits of a newly loaded registry, once per reload (a reference comparison otherwise).</summary>
    private void Follow(ClientRegistry registry)
    {
        if (ReferenceEquals(Volatile.Read(ref _limitsOf), registry))
        {
            return;
        }

        lock (_reloading)
        {
            if (ReferenceEquals(_limitsOf, registry))
            {
                return;
            }

            _limiters.Reload(registry.Clients.Select(client =>
                KeyValuePair.Create(client.Name, new ClientLimits(client.MaxConcurrent, client.RequestsPerMinute))));
            Volatile.Write(ref _limitsOf, registry);
        }
    }
}
