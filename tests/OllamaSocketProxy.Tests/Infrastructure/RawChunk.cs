namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// One chunk as it arrived (RFC 9112 §7.1). <see cref="Raw"/> holds its exact bytes: size line, data, CRLF, or for the
/// last chunk the size line and trailer section. <see cref="IsWellFormed"/> is false when the stream ended or the
/// framing broke inside it.
/// </summary>
public sealed record RawChunk(long Size, byte[] Data, byte[] Raw, HeaderFields Trailers, bool IsWellFormed)
{
    public bool IsLast => IsWellFormed && Size == 0;
}
