namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>Which of a client's limits refused a request.</summary>
public enum LimitKind : byte
{
    /// <summary>Nothing refused the request.</summary>
    None,

    /// <summary><c>max_concurrent</c>: the client already has that many requests in flight.</summary>
    Concurrent,

    /// <summary><c>requests_per_minute</c>: the client's token bucket is empty.</summary>
    RequestsPerMinute,
}
