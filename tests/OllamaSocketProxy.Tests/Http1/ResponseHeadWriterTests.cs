using System.Buffers;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>The response head the client receives, byte for byte (docs/BEHAVIOUR.md#response).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ResponseHeadWriterTests
{
    /// <summary>The proxy's Date line, as the connection passes it in.</summary>
    private const string ProxyDate = "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n";

    private static string Write(string upstreamHead, BufferShape shape, bool dechunk = false, bool close = false)
    {
        var head = ResponseParse.Run(upstreamHead, shape).Head;
        var output = new ArrayBufferWriter<byte>();

        ResponseHeadWriter.Write(output, head, dechunk, close, Latin1.Bytes(ProxyDate));

        return Latin1.Text(output.WrittenSpan);
    }

    private const string StreamingHead =
        "HTTP/1.1 200 OK\r\n"
        + "Content-Type: application/x-ndjson\r\n"
        + "Connection: keep-alive, X-Hop\r\n"
        + "X-Hop: 1\r\n"
        + "Keep-Alive: timeout=60\r\n"
        + "Proxy-Connection: keep-alive\r\n"
        + "Upgrade: h2\r\n"
        + "TE: trailers\r\n"
        + "Transfer-Encoding: chunked\r\n"
        + "Trailer: X-Checksum\r\n"
        + "Date: Tue, 25 Nov 2025 10:00:00 GMT\r\n"
        + "Set-Cookie: a=b\r\n"
        + "Set-Cookie: c=d\r\n"
        + "\r\n";

    [TestCaseSource(typeof(BufferShapes), nameof(BufferShapes.Each))]
    public void ChunkedResponse_RelayedWithoutConnectionFieldsAndWithItsFraming(BufferShape shape)
    {
        Assert.That(Write(StreamingHead, shape), Is.EqualTo(
            "HTTP/1.1 200 OK\r\n"
            + "Content-Type: application/x-ndjson\r\n"
            + "Transfer-Encoding: chunked\r\n"
            + "Trailer: X-Checksum\r\n"
            + "Date: Tue, 25 Nov 2025 10:00:00 GMT\r\n"
            + "Set-Cookie: a=b\r\n"
            + "Set-Cookie: c=d\r\n"
            + "\r\n"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(BufferShapes.Each))]
    public void DechunkedForHttp10Client_FramingFieldsDroppedAndConnectionClosed(BufferShape shape)
    {
        Assert.That(Write(StreamingHead, shape, dechunk: true, close: true), Is.EqualTo(
            "HTTP/1.1 200 OK\r\n"
            + "Content-Type: application/x-ndjson\r\n"
            + "Date: Tue, 25 Nov 2025 10:00:00 GMT\r\n"
            + "Set-Cookie: a=b\r\n"
            + "Set-Cookie: c=d\r\n"
            + "Connection: close\r\n"
            + "\r\n"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(BufferShapes.Each))]
    public void ContentLengthResponse_RelayedAsReceived(BufferShape shape)
    {
        const string head = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 18\r\nX-Empty:\r\n"
            + "date: Tue, 25 Nov 2025 10:00:00 GMT\r\n\r\n";

        Assert.That(Write(head, shape), Is.EqualTo(head));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(BufferShapes.Each))]
    public void UpstreamConnectionClose_NotPassedOnUnlessTheClientConnectionCloses(BufferShape shape)
    {
        const string head = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Write(head, shape), Is.EqualTo("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + ProxyDate + "\r\n"));
            Assert.That(Write(head, shape, close: true), Is.EqualTo("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + ProxyDate + "Connection: close\r\n\r\n"));
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(BufferShapes.Each))]
    public void InterimResponse_NeverAnnouncesCloseNorGetsADate(BufferShape shape)
    {
        Assert.That(Write("HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n", shape, close: true),
            Is.EqualTo("HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(BufferShapes.Each))]
    public void StatusLine_RelayedAsReceived(BufferShape shape)
    {
        Assert.That(Write("HTTP/1.0 299 Custom \u00e9\r\n\r\n", shape), Is.EqualTo("HTTP/1.0 299 Custom \u00e9\r\n" + ProxyDate + "\r\n"));
    }

    /// <summary>RFC 9110 §6.6.1: a recipient with a clock that forwards a response without Date MUST append one.</summary>
    [TestCaseSource(typeof(BufferShapes), nameof(BufferShapes.Each))]
    public void FinalResponseWithoutDate_GetsTheProxysDateAfterItsFields(BufferShape shape)
    {
        Assert.That(Write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n", shape), Is.EqualTo(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n" + ProxyDate + "\r\n"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(BufferShapes.Each))]
    public void FinalResponseWithDate_KeepsItsOwnAndGetsNoSecond(BufferShape shape)
    {
        const string head = "HTTP/1.1 500 Internal Server Error\r\nDATE:Tue, 25 Nov 2025 10:00:00 GMT\r\nContent-Length: 0\r\n\r\n";

        Assert.That(Write(head, shape, close: true), Is.EqualTo(
            "HTTP/1.1 500 Internal Server Error\r\nDATE:Tue, 25 Nov 2025 10:00:00 GMT\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
    }

    /// <summary>RFC 9110 §7.6.1: a field named by Connection is dropped; the response then has no Date but the proxy's.</summary>
    [TestCaseSource(typeof(BufferShapes), nameof(BufferShapes.Each))]
    public void DateNamedByConnection_ReplacedByTheProxys(BufferShape shape)
    {
        const string head = "HTTP/1.1 200 OK\r\nConnection: Date\r\nDate: Tue, 25 Nov 2025 10:00:00 GMT\r\nContent-Length: 0\r\n\r\n";

        Assert.That(Write(head, shape), Is.EqualTo("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + ProxyDate + "\r\n"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(BufferShapes.Each))]
    public void ContentTypeNamedByConnection_NotRelayed(BufferShape shape)
    {
        const string head = "HTTP/1.1 200 OK\r\nConnection: content-type\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n" + ProxyDate + "\r\n";

        Assert.That(Write(head, shape), Is.EqualTo("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + ProxyDate + "\r\n"));
    }
}
