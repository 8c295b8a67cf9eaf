namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Which limit an upstream 429 names; it chooses the back-off ladder (<see cref="BenchLadder"/>). The members are
/// ordered from the shortest limit to the longest.
/// </summary>
public enum RateLimitKind : byte
{
    /// <summary>The answer names no limit the proxy knows: a short-lived one is assumed.</summary>
    Other,

    /// <summary>Ollama Cloud's session limit ("session usage limit", formerly "hourly"): clears within hours.</summary>
    Session,

    /// <summary>Ollama Cloud's weekly limit, or another long one (daily, monthly): clears within days.</summary>
    Weekly,
}
