using System.Security.Authentication;
using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.EndToEnd;

/// <summary>
/// Regressions for the review fixes: bytes after a bodiless response (RFC 9112 §6.3), Transfer-Encoding towards
/// HTTP/1.0 clients (RFC 9112 §6.1), prewarmed TLS 1.3 connections, the response timeout on a pooled connection, a
/// client that half-closes, and a client that never reads. Real TLS upstream on 127.0.0.1; time passes only on an
/// <see cref="ObservedClock"/>.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ReviewRegressionTests
{
    private const string Stale = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 6\r\n\r\nSTALE!";
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(2);

    // :: 1 Bytes after a response without a body belong to no message (RFC 9112 §6.3): the connection is unfit for reuse.
    [TestCase("GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200)]
    [TestCase("HEAD", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 42\r\n\r\n", 200)]
    [TestCase("GET", "HTTP/1.1 204 No Content\r\n\r\n", 204)]
    public async Task BytesAfterABodilessResponse_UpstreamConnectionIsNotReusedAndTheStaleResponseNeverSeen(string method, string head, int status)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange =>
            exchange.Request.Target == "/api/first"
                ? exchange.WriteAsync(head + Stale)
                : UpstreamResponses.EchoTargetAsync(exchange)));

        var first = await SendAndAwaitTheEndOfTheRequestAsync(proxy, method, "/api/first");
        var second = await proxy.SendAsync(proxy.Get("/api/second"));
        var firstConnection = await proxy.Origin.WaitForConnectionAsync(1);
        await firstConnection.ClosedByProxy.OrTimeoutAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.StatusCode, Is.EqualTo(status), first.Describe());
            Assert.That(first.RawBody, Is.Empty, first.Describe());
            Assert.That(second.BodyText, Is.EqualTo("""{"target":"/api/second"}"""), second.Describe());
            Assert.That(second.Describe(), Does.Not.Contain("STALE!"));
            Assert.That(proxy.Origin.Requests.Select(request => (request.Target, request.ConnectionId)),
                Is.EqualTo(new[] { ("/api/first", 1), ("/api/second", 2) }), "The connection with stale bytes carried the next request.");
        }
    }

    // :: 2 An HTTP/1.0 client never sees Transfer-Encoding, also on a response that has no body (RFC 9112 §6.1).
    [TestCase("HEAD", 200)]
    [TestCase("GET", 204)]
    [TestCase("GET", 304)]
    public async Task Http10ClientAndABodilessChunkedResponse_NeverSeesTransferEncoding(string method, int status)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange =>
            exchange.WriteAsync($"HTTP/1.1 {status} {UpstreamResponses.ReasonPhrase(status)}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")));
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"{method} /api/x HTTP/1.0\r\nHost: proxy.test\r\n{proxy.AuthorizationField}\r\n");
        var response = await client.ReadResponseAsync(method);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(status), response.Describe());
            Assert.That(response.Headers.Contains("Transfer-Encoding"), Is.False, response.Describe());
            Assert.That(response.Headers["Content-Type"], Is.EqualTo("application/json"), response.Describe());
        }

        await ProxyAssert.ClosesConnectionAsync(client, response);
    }

    // :: 3 TLS 1.3 session tickets arrive on an idle connection; they must not make a prewarmed connection look closed.
    [Test]
    public async Task PrewarmedTls13Connections_CarryTheNextRequestWithoutANewConnection()
    {
        // The fake clock holds the pool's sweeper still, so nothing tops the pool up behind the test's back.
        await using var proxy = await ProxyHarness.StartAsync(
            TestUpstream.StartTls(),
            new Dictionary<string, string?> { ["PROXY_UPSTREAM_PREWARM"] = "2" },
            timeProvider: new ObservedClock());

        // Connection 2's handshake done on the upstream's side means the server wrote its session tickets on both;
        // the request goes once the proxy has both in its pool (the upstream sees the handshake end a moment before
        // the proxy returns the connection).
        var warmed = await proxy.Origin.WaitForConnectionAsync(2);
        await proxy.WaitForServerAsync(server => server.IdleUpstreamConnections == 2);
        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(warmed.TlsProtocol, Is.EqualTo(SslProtocols.Tls13), "The test upstream did not negotiate TLS 1.3.");
            Assert.That(response.BodyText, Is.EqualTo("""{"target":"/api/tags"}"""), response.Describe());
            Assert.That(proxy.Origin.AcceptedConnections, Is.EqualTo(2), "A prewarmed connection was thrown away and a new one opened.");
            Assert.That(proxy.Origin.Requests.Single().ConnectionId, Is.AnyOf(1, 2));
        }
    }

    // :: 4 A response timeout on a connection watched while idle is the timeout (504), not an upstream close (502).
    [Test]
    public async Task PooledConnectionWithNoResponseHeadInTime_Gets504AndTheConnectionIsAborted()
    {
        var clock = new ObservedClock();
        await using var proxy = await ProxyHarness.StartAsync(
            TestUpstream.StartTls(exchange => exchange.Request.Target == "/api/silent"
                ? exchange.WaitAsync(exchange.Connection.ClosedByProxy)
                : UpstreamResponses.EchoTargetAsync(exchange)),
            new Dictionary<string, string?> { ["PROXY_UPSTREAM_RESPONSE_TIMEOUT"] = "600" },
            timeProvider: clock);
        await SendAndAwaitTheEndOfTheRequestAsync(proxy, "GET", "/api/warm");
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/silent"));
        await proxy.Origin.WaitForRequestsAsync(2);
        await clock.WaitForArmedAsync(ResponseTimeout);
        clock.Advance(ResponseTimeout);
        var response = await client.ReadResponseAsync();

        ProxyAssert.IsJsonError(response, 504);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        var pooled = await proxy.Origin.WaitForConnectionAsync(1);
        await pooled.ClosedByProxy.OrTimeoutAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pooled.ResetByProxy, Is.True, "The timed-out upstream connection was closed, not aborted.");
            Assert.That(proxy.Origin.Requests.Select(request => (request.Target, request.ConnectionId)),
                Is.EqualTo(new[] { ("/api/warm", 1), ("/api/silent", 1) }), "The request did not go on the pooled connection, or was retried.");
        }
    }

    // :: 5 A client FIN while the upstream thinks: the proxy gives up the exchange (nginx 499, Go's reverse proxy) and logs it.
    [TestCase(false)]
    [TestCase(true)]
    public async Task ClientHalfClosesWhileTheUpstreamIsSlow_UpstreamIsAbortedAndTheRequestIsLogged(bool pooled)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange => exchange.Request.Target == "/api/slow"
            ? exchange.WaitAsync(exchange.Connection.ClosedByProxy)
            : UpstreamResponses.EchoTargetAsync(exchange)));
        if (pooled)
        {
            await SendAndAwaitTheEndOfTheRequestAsync(proxy, "GET", "/api/warm");
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

    // :: 6 A client that never reads must not hold its connection, or the shutdown, past the proxy's own deadlines.
    [TestCase(false)]
    [TestCase(true)]
    public async Task ClientThatNeverReadsItsErrors_IsClosedAfterTheLingerTimeAndStopCompletes(bool fillTheWindowFirst)
    {
        var clock = new ObservedClock();

        // Every deadline a non-reading client can meet here is 2 s: the head timeout (a local answer's write) and
        // the linger (the last error's flush, then the lingering close).
        await using var proxy = await ProxyHarness.StartAsync(
            TestUpstream.StartTls(),
            new Dictionary<string, string?> { ["PROXY_REQUEST_HEAD_TIMEOUT"] = "2" },
            timeProvider: clock);
        var client = await proxy.ConnectAsync(receiveBufferSize: fillTheWindowFirst ? 4096 : null);
        var requests = new StringBuilder();
        if (fillTheWindowFirst)
        {
            // Local answers (no token, nothing upstream), far more than the socket buffers hold.
            for (var i = 0; i < 20_000; i++)
            {
                requests.Append("GET / HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
            }
        }

        for (var i = 0; i < 2_000; i++)
        {
            requests.Append($"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\nBroken header {i}\r\n\r\n");
        }

        var sending = SendIgnoringTheCloseAsync(client, Encoding.Latin1.GetBytes(requests.ToString()));
        await proxy.Logs.WaitForLineAsync(line => line.Contains("request refused", StringComparison.Ordinal)
            || (fillTheWindowFirst && line.Contains("\"GET /\" 200", StringComparison.Ordinal)));

        var stop = proxy.Server.StopAsync(CancellationToken.None);
        for (var step = 0; step < 8 && !stop.IsCompleted; step++)
        {
            await Task.WhenAny(clock.WaitForArmedAsync(Linger), stop);
            clock.Advance(Linger);
        }

        await stop.OrTimeoutAsync();
        await client.ReadUntilClosedAsync();
        await sending;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(proxy.Server.ConnectionCount, Is.Zero);
            Assert.That(Encoding.Latin1.GetString(client.Received), Does.StartWith(fillTheWindowFirst ? "HTTP/1.1 200 OK" : "HTTP/1.1 400 "));
        }
    }

    /// <summary>
    /// Sends with <c>Connection: close</c> and waits until the proxy closes the client connection: by then it is done
    /// with the request, its upstream connection back in the pool or closed.
    /// </summary>
    private static async Task<RawResponse> SendAndAwaitTheEndOfTheRequestAsync(ProxyHarness proxy, string method, string target)
    {
        var client = await proxy.ConnectAsync();
        await client.SendAsync($"{method} {target} HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n{proxy.AuthorizationField}\r\n");
        var response = await client.ReadResponseAsync(method);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        return response;
    }

    /// <summary>Sends in the background; the proxy may close (or reset) before it took everything, which is the point.</summary>
    private static async Task SendIgnoringTheCloseAsync(RawClient client, byte[] bytes)
    {
        try
        {
            await client.SendAsync(bytes);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
