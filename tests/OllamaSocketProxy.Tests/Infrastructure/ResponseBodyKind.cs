namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>How a response body is delimited (RFC 9112 §6.3).</summary>
public enum ResponseBodyKind
{
    /// <summary>HEAD, 1xx, 204, 304.</summary>
    None,
    ContentLength,
    Chunked,

    /// <summary>Neither length nor chunked: the body ends when the connection closes.</summary>
    UntilClose,
}
