using System.Security.Authentication;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Upstream;

/// <summary>
/// Through the proxy: upstream connections are pooled and reused, prewarmed ones included; a stale one does not fail a
/// request, and one with bytes that belong to no response is never reused (docs/BEHAVIOUR.md#connections). The pool
/// alone: <see cref="UpstreamPoolTests"/>.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class UpstreamReuseTests
{
    private const string Stale = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 6\r\n\r\nSTALE!";

    [Test]
    public async Task SequentialRequestsFromTwoClientConnections_ShareOneUpstreamConnection()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var first = await proxy.SendAndAwaitTheEndOfTheRequestAsync("/api/tags");
        var second = await proxy.SendAsync(proxy.Get("/api/ps"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.StatusCode, Is.EqualTo(200), first.Describe());
            Assert.That(second.StatusCode, Is.EqualTo(200), second.Describe());
            Assert.That(proxy.Origin.AcceptedConnections, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task ConcurrentRequests_UseSeparateUpstreamConnections()
    {
        var firstMayAnswer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            if (exchange.Request.Target == "/api/slow")
            {
                await exchange.WaitAsync(firstMayAnswer.Task);
            }

            await UpstreamResponses.EchoTargetAsync(exchange);
        }));
        var slowClient = await proxy.ConnectAsync();

        await slowClient.SendAsync(proxy.Get("/api/slow"));
        await proxy.Origin.WaitForRequestsAsync(1);
        var fast = await proxy.SendAsync(proxy.Get("/api/fast"));
        firstMayAnswer.SetResult();
        var slow = await slowClient.ReadResponseAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fast.BodyText, Is.EqualTo("""{"target":"/api/fast"}"""), fast.Describe());
            Assert.That(slow.BodyText, Is.EqualTo("""{"target":"/api/slow"}"""), slow.Describe());
            Assert.That(proxy.Origin.AcceptedConnections, Is.EqualTo(2));
        }
    }

    [Test]
    public async Task PooledConnectionClosedByTheUpstream_NextRequestSucceedsOnAFreshConnection()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await UpstreamResponses.EchoTargetAsync(exchange);
            exchange.CloseAfterResponse();
        }));

        var first = await proxy.SendAsync(proxy.Get("/api/first"));
        var closed = await proxy.Origin.WaitForConnectionAsync(1);
        await closed.Finished.OrTimeoutAsync();
        var second = await proxy.SendAsync(proxy.Get("/api/second"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.StatusCode, Is.EqualTo(200), first.Describe());
            Assert.That(second.BodyText, Is.EqualTo("""{"target":"/api/second"}"""), second.Describe());
        }
    }

    [Test]
    public async Task PooledConnectionResetByTheUpstream_NextBodylessRequestIsRetriedOnAFreshConnection()
    {
        // The first connection's second request: the origin drops it just as it arrives.
        await using var proxy = await StartWithSecondRequestResetAsync();

        var first = await proxy.SendAndAwaitTheEndOfTheRequestAsync("/api/first");
        var second = await proxy.SendAsync(proxy.Get("/api/second"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.StatusCode, Is.EqualTo(200), first.Describe());
            Assert.That(second.BodyText, Is.EqualTo("""{"target":"/api/second"}"""), second.Describe());
            Assert.That(proxy.Origin.Requests.Select(request => request.ConnectionId), Is.EqualTo(new[] { 1, 1, 2 }));
        }
    }

    [Test]
    public async Task PooledConnectionResetAfterAPostWasSent_Gets502AndThePostIsNotSentAgain()
    {
        // The upstream reads the whole POST, then dies: it may have started a paid generation.
        await using var proxy = await StartWithSecondRequestResetAsync();

        var first = await proxy.SendAndAwaitTheEndOfTheRequestAsync("/api/first");
        var second = await proxy.SendAsync(
            $"POST /api/generate HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Length: 2\r\nConnection: close\r\n\r\n{{}}");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.StatusCode, Is.EqualTo(200), first.Describe());
            Assert.That(second.StatusCode, Is.EqualTo(502), second.Describe());

            // RFC 9110 §9.2.2: a proxy MUST NOT retry a non-idempotent request by itself.
            Assert.That(proxy.Origin.Requests.Count(request => request.Target == "/api/generate"), Is.EqualTo(1));
        }
    }

    [Test]
    public async Task PlainHttpUpstream_IsForwardedWithTheKeyAndItsAuthority()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartPlain());

        var response = await proxy.SendAsync(proxy.Get("/tags"));

        Assert.That(response.BodyText, Is.EqualTo("""{"target":"/api/tags"}"""), response.Describe());
        var forwarded = proxy.Origin.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(forwarded.Headers.All("Host"), Is.EqualTo(new[] { proxy.Origin.Authority }));
            Assert.That(forwarded.Headers.All("Authorization"), Is.EqualTo(new[] { $"Bearer {proxy.ApiKey}" }));
        }
    }

    // A review regression: bytes after a response without a body belong to no message (RFC 9112 §6.3), so the
    // connection is unfit for reuse.
    [TestCase("GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200)]
    [TestCase("HEAD", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 42\r\n\r\n", 200)]
    [TestCase("GET", "HTTP/1.1 204 No Content\r\n\r\n", 204)]
    public async Task BytesAfterABodilessResponse_UpstreamConnectionIsNotReusedAndTheStaleResponseNeverSeen(string method, string head, int status)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange =>
            exchange.Request.Target == "/api/first"
                ? exchange.WriteAsync(head + Stale)
                : UpstreamResponses.EchoTargetAsync(exchange)));

        var first = await proxy.SendAndAwaitTheEndOfTheRequestAsync("/api/first", method);
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

    // A review regression: TLS 1.3 session tickets arrive on an idle connection; they must not make a prewarmed
    // connection look closed.
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

    /// <summary>An upstream that echoes every request's target but resets its connection on the second request.</summary>
    private static Task<ProxyHarness> StartWithSecondRequestResetAsync()
    {
        var answered = 0;
        return ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            if (Interlocked.Increment(ref answered) == 2)
            {
                exchange.Abort();
                return;
            }

            await UpstreamResponses.EchoTargetAsync(exchange);
        }));
    }
}
