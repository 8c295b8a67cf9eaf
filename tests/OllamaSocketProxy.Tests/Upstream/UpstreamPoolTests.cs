using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Upstream;

/// <summary>
/// Upstream connections are pooled and reused, and a stale one does not fail a request
/// (docs/BEHAVIOUR.md#connections).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class UpstreamPoolTests
{
    [Test]
    public async Task SequentialRequestsFromTwoClientConnections_ShareOneUpstreamConnection()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var first = await SendAndAwaitTheEndOfTheRequestAsync(proxy, "/api/tags");
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

        var first = await SendAndAwaitTheEndOfTheRequestAsync(proxy, "/api/first");
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

        var first = await SendAndAwaitTheEndOfTheRequestAsync(proxy, "/api/first");
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

    /// <summary>
    /// Sends with <c>Connection: close</c> and waits until the proxy closes the client connection: by then it is done
    /// with the request, its upstream connection back in the pool (the client's close is hop-by-hop, not the pool's).
    /// </summary>
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

    private static async Task<RawResponse> SendAndAwaitTheEndOfTheRequestAsync(ProxyHarness proxy, string target)
    {
        var client = await proxy.ConnectAsync();
        await client.SendAsync($"GET {target} HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n{proxy.AuthorizationField}\r\n");
        var response = await client.ReadResponseAsync();
        await ProxyAssert.ClosesConnectionAsync(client, response);
        return response;
    }
}
