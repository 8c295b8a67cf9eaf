namespace OllamaSocketProxy.Http1;

/// <summary>Bounds on a request head, checked before a byte of it is interpreted (Kestrel's defaults).</summary>
public sealed record RequestLimits
{
    public static readonly RequestLimits Default = new();

    /// <summary>Longest request line, CRLF excluded; beyond it 414 (RFC 9112 §3).</summary>
    public long MaxRequestLineSize { get; init; } = 8 * 1024;

    /// <summary>Longest head, request line and fields together; beyond it 431 (RFC 6585 §5).</summary>
    public long MaxHeadSize { get; init; } = 32 * 1024;

    /// <summary>Most header fields in one head; beyond it 431.</summary>
    public long MaxHeaderCount { get; init; } = 100;
}
