namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>The upstream connection ended (or its framing broke) inside a request.</summary>
internal sealed class IncompleteRequestException(byte[] raw)
    : Exception($"The request ended after {raw.Length} bytes.")
{
    public byte[] Raw { get; } = raw;
}
