using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Server;

/// <summary>
/// A client that hangs up leaves nothing behind. In the middle of its upload (reset or close): the upstream connection
/// it was streaming to is aborted, never completed, and never returned to the pool, so the next request opens a new
/// one (docs/BEHAVIOUR.md#request-body-framing). In the middle of a stream, or with a FIN while the upstream thinks:
/// the upstream connection is closed and not reused, and the request is still logged (docs/BEHAVIOUR.md#response).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ClientHangUpTests
{
    private const string FirstLine = """{"model":"llama3.2","response":"Hel","done":false}""" + "\n";

    public enum HangUp
    {
        Reset,
        Close,
    }

    [TestCase(HangUp.Reset, false)]
    [TestCase(HangUp.Close, false)]
    [TestCase(HangUp.Reset, true)]
    [TestCase(HangUp.Close, true)]
    public async Task ClientHangsUpMidUpload_UpstreamConnectionIsAbortedAndNeverReused(HangUp hangUp, bool chunked)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();
        var data = new string('u', 4000);
        var firstPart = chunked ? $"{data.Length:x}\r\n{data}\r\n" : data;

        // Content-Length above the 64 KiB the proxy holds whole, so the body streams as it arrives.
        await client.SendAsync(
            $"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}"
            + (chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Content-Length: 100000\r\n\r\n")
            + firstPart);
        var upload = await proxy.Origin.WaitForConnectionAsync(1);
        Assert.That(await proxy.Origin.WaitForBodyBytesAsync(upload, firstPart.Length), Is.True, "The start of the upload never reached the upstream.");
        if (hangUp == HangUp.Reset)
        {
            client.Abort();
        }
        else
        {
            await client.DisposeAsync();
        }

        await upload.ClosedByProxy.OrTimeoutAsync();
        var next = await proxy.SendAsync(proxy.Get("/api/tags"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(upload.ResetByProxy, Is.True, "The upstream connection was closed, not aborted.");
            Assert.That(proxy.Origin.IncompleteRequests, Has.Count.EqualTo(1));
            Assert.That(next.StatusCode, Is.EqualTo(200), next.Describe());
            Assert.That(proxy.Origin.Requests.Select(request => (request.Target, request.ConnectionId)), Is.EqualTo(new[] { ("/api/tags", 2) }),
                "The aborted upload completed upstream, or its connection carried the next request.");
        }
    }

    [Test]
    public async Task ClientHangsUpMidStream_UpstreamConnectionIsClosedAndNotReused()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            if (exchange.Request.Target != "/api/generate")
            {
                await UpstreamResponses.EchoTargetAsync(exchange);
                return;
            }

            await exchange.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n{Chunk(FirstLine)}");
            await exchange.WaitAsync(exchange.Connection.ClosedByProxy);
        }));
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/generate"));
        await client.ReadHeadAsync();
        await client.ReadChunkAsync();
        client.Abort();
        var generating = await proxy.Origin.WaitForConnectionAsync(1);
        await generating.ClosedByProxy.OrTimeoutAsync();
        var next = await proxy.SendAsync(proxy.Get("/api/tags"));

        Assert.That(next.StatusCode, Is.EqualTo(200), next.Describe());
        Assert.That(proxy.Origin.Requests.Last().ConnectionId, Is.Not.EqualTo(generating.Id));
    }

    [Test]
    public async Task ClientClosesGracefullyMidStream_UpstreamConnectionIsClosed()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n{Chunk("data: {}\n\n")}");
            await exchange.WaitAsync(exchange.Connection.ClosedByProxy);
        }));
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/v1/chat/completions"));
        await client.ReadHeadAsync();
        await client.ReadChunkAsync();
        await client.DisposeAsync();
        var upstream = await proxy.Origin.WaitForConnectionAsync(1);

        await upstream.ClosedByProxy.OrTimeoutAsync();
    }

    // A review regression: a client FIN while the upstream thinks; the proxy gives up the exchange (nginx 499, Go's
    // reverse proxy) and logs it.
    [TestCase(false)]
    [TestCase(true)]
    public async Task ClientHalfClosesWhileTheUpstreamIsSlow_UpstreamIsAbortedAndTheRequestIsLogged(bool pooled)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange => exchange.Request.Target == "/api/slow"
            ? exchange.WaitAsync(exchange.Connection.ClosedByProxy)
            : UpstreamResponses.EchoTargetAsync(exchange)));
        if (pooled)
        {
            await proxy.SendAndAwaitTheEndOfTheRequestAsync("/api/warm");
        }

        var client = await proxy.ConnectAsync();
        await client.SendAsync(proxy.Get("/api/slow"));
        await proxy.Origin.WaitUntilAsync(() => proxy.Origin.Requests.Any(request => request.Target == "/api/slow"));
        var slow = proxy.Origin.Requests.Single(request => request.Target == "/api/slow");
        var upstream = await proxy.Origin.WaitForConnectionAsync(slow.ConnectionId);

        client.ShutdownSend();
        await upstream.ClosedByProxy.OrTimeoutAsync();
        var accessLine = await proxy.Logs.WaitForLineAsync(line =>
            line.Contains("OllamaSocketProxy.Access", StringComparison.Ordinal) && line.Contains("\"GET /api/slow\"", StringComparison.Ordinal));
        await client.ReadUntilClosedAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(upstream.ResetByProxy, Is.True, "The upstream connection was closed, not aborted.");
            Assert.That(slow.ConnectionId, Is.EqualTo(1), "The slow request did not go on the first (pooled or new) connection.");
            Assert.That(proxy.Origin.Requests.Count(request => request.Target == "/api/slow"), Is.EqualTo(1), "The request was sent again.");
            Assert.That(accessLine, Does.Contain("127.0.0.1:"), accessLine);
        }
    }

    private static string Chunk(string data) => $"{Encoding.UTF8.GetByteCount(data):x}\r\n{data}\r\n";
}
