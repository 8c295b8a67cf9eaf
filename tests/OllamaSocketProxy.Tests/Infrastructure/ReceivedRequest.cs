using System.Text;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>One complete request as the test upstream received it, byte for byte.</summary>
public sealed class ReceivedRequest
{
    public required int ConnectionId { get; init; }

    /// <summary>Head and body exactly as they arrived (chunk framing included).</summary>
    public required byte[] Raw { get; init; }

    public required int HeadLength { get; init; }

    public required string RequestLine { get; init; }

    public required string Method { get; init; }

    public required string Target { get; init; }

    public required HeaderFields Headers { get; init; }

    /// <summary>The body content, de-chunked when it came chunked.</summary>
    public required byte[] Body { get; init; }

    public required HeaderFields Trailers { get; init; }

    public string Head => Encoding.Latin1.GetString(Raw, 0, HeadLength);

    /// <summary>The body bytes as they arrived, framing included.</summary>
    public byte[] RawBody => Raw[HeadLength..];

    public string BodyText => Encoding.UTF8.GetString(Body);

    public override string ToString() => Encoding.Latin1.GetString(Raw);
}
