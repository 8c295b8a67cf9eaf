namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>Whether the pool hands a key out.</summary>
public enum KeyState
{
    /// <summary>Chosen in turn with the other keys that are up.</summary>
    Up,

    /// <summary>Rate limited by the upstream; up again when its bench is over.</summary>
    Benched,

    /// <summary>Refused by the upstream (401 or 403); never chosen again until restart.</summary>
    Disabled,
}

/// <summary>One key as metrics and readiness see it.</summary>
/// <param name="Label">The key's label (<see cref="UpstreamKey.Label"/>), never the key.</param>
/// <param name="State">Its state; a bench whose time is up reads as <see cref="KeyState.Up"/>.</param>
/// <param name="BenchedUntil">When a benched key returns; null when it is not benched.</param>
/// <param name="RateLimitedCount">Upstream 429s the key has drawn since start.</param>
public readonly record struct KeyStatus(string Label, KeyState State, DateTimeOffset? BenchedUntil, long RateLimitedCount);

/// <summary>What an upstream answer means for the key that carried it (<see cref="UpstreamKeyPool.OnResponse"/>).</summary>
public enum KeyOutcome
{
    /// <summary>The key served the request; the answer goes to the client.</summary>
    Served,

    /// <summary>429: the key is benched; the request may be retried on another key.</summary>
    RateLimited,

    /// <summary>401 or 403: the key is disabled; the request may be retried on another key.</summary>
    Refused,
}
