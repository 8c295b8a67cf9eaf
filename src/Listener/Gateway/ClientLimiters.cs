using System.Collections.Frozen;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// The <see cref="ClientLimiter"/> of every configured client, by name. A reload of the clients file keeps the
/// limiter (its requests in flight and its tokens) of every client whose name stays, with the new limits; a new
/// name gets a new limiter, and a name that is gone is dropped. A request that holds a dropped limiter still
/// releases into it, so leases taken before a reload stay valid.
/// </summary>
public sealed class ClientLimiters(TimeProvider time)
{
    private FrozenDictionary<string, ClientLimiter> _byName = FrozenDictionary<string, ClientLimiter>.Empty;

    /// <summary>Makes <paramref name="clients"/> the configured set; returns the limiter of each, in order.</summary>
    /// <remarks>Called by one reload at a time; lookups during a reload see the old set or the new one, whole.</remarks>
    public IReadOnlyList<ClientLimiter> Reload(IEnumerable<KeyValuePair<string, ClientLimits>> clients)
    {
        // Checked first, so that a refused set changes no limiter.
        var entries = clients.ToArray();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in entries)
        {
            if (!names.Add(name))
            {
                throw new ArgumentException($"client \"{name}\" is listed twice", nameof(clients));
            }
        }

        var current = _byName;
        var limiters = new ClientLimiter[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            var (name, limits) = entries[i];
            if (current.TryGetValue(name, out var limiter))
            {
                limiter.Update(limits);
            }
            else
            {
                limiter = new ClientLimiter(name, limits, time);
            }

            limiters[i] = limiter;
        }

        Volatile.Write(ref _byName, limiters.ToFrozenDictionary(limiter => limiter.ClientName, StringComparer.Ordinal));
        return limiters;
    }

    public bool TryGet(string clientName, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ClientLimiter? limiter) =>
        Volatile.Read(ref _byName).TryGetValue(clientName, out limiter);

    public int Count => Volatile.Read(ref _byName).Count;
}
