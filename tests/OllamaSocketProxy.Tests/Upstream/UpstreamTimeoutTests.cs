using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Upstream;

/// <summary>
/// An upstream that takes the connection but never completes the TLS handshake is a 502 after
/// <c>PROXY_UPSTREAM_CONNECT_TIMEOUT</c>; one that never sends a response head, on a new or a pooled connection, is a
/// 504 after <c>PROXY_UPSTREAM_RESPONSE_TIMEOUT</c>, and its connection is aborted. Both errors say what timed out. One
/// that falls silent mid-body for <c>PROXY_UPSTREAM_IDLE_TIMEOUT</c> is cut off, and the client sees the truncation
/// (docs/BEHAVIOUR.md#limits-and-timeouts). Time passes on an <see cref="ObservedClock"/>; sub-second limits on the
/// real clock only where the awaited event is the timeout itself.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class UpstreamTimeoutTests
{
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromMinutes(10);

    [Test]
    public async Task TlsHandshakeNeverAnswered_Gets502JsonNamingTheConnectTimeout()
    {
        var connectTimeout = TimeSpan.FromSeconds(10);
        var clock = new ObservedClock();
        await using var silent = new SilentListener();
        await using var proxy = await ProxyHarness.StartAsync(
            $"https://127.0.0.1:{silent.Port}",
            new Dictionary<string, string?> { ["PROXY_UPSTREAM_CONNECT_TIMEOUT"] = "10" },
            clock);
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/tags"));
        await silent.WaitForAcceptedAsync(1);
        await clock.WaitForArmedAsync(connectTimeout);
        clock.Advance(connectTimeout);
        var response = await client.ReadResponseAsync();

        ProxyAssert.IsJsonError(response, 502);
        Assert.That(response.JsonError, Does.Match("(?i)connect.*tim(ed|e) ?out"), response.Describe());
        await ProxyAssert.ClosesConnectionAsync(client, response);
        await client.DisposeAsync();
    }

    [Test]
    public async Task ResponseTimeoutEndsBeforeASlowerConnectTimeout_Gets504NotAHang()
    {
        // The response timeout counts from when the request goes upstream, a connect included: configured shorter
        // than the connect timeout, it is the one that answers.
        var responseTimeout = TimeSpan.FromSeconds(5);
        var clock = new ObservedClock();
        await using var silent = new SilentListener();
        await using var proxy = await ProxyHarness.StartAsync(
            $"https://127.0.0.1:{silent.Port}",
            new Dictionary<string, string?>
            {
                ["PROXY_UPSTREAM_CONNECT_TIMEOUT"] = "60",
                ["PROXY_UPSTREAM_RESPONSE_TIMEOUT"] = "5",
            },
            clock);
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/tags"));
        await silent.WaitForAcceptedAsync(1);
        await clock.WaitForArmedAsync(TimeSpan.FromSeconds(60));
        await clock.WaitForArmedAsync(responseTimeout);
        clock.Advance(responseTimeout);
        var response = await client.ReadResponseAsync();

        ProxyAssert.IsJsonError(response, 504);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        await client.DisposeAsync();
    }

    [Test]
    public async Task NoResponseHeadWithinTheResponseTimeout_Gets504JsonAndTheUpstreamIsAborted()
    {
        var responseTimeout = TimeSpan.FromMinutes(10);
        var clock = new ObservedClock();
        await using var proxy = await ProxyHarness.StartAsync(
            TestUpstream.StartTls(exchange => exchange.WaitAsync(exchange.Connection.ClosedByProxy)),
            new Dictionary<string, string?> { ["PROXY_UPSTREAM_RESPONSE_TIMEOUT"] = "600" },
            timeProvider: clock);
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"POST /api/generate HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Length: 2\r\n\r\n{{}}");
        var upstream = await proxy.Origin.WaitForConnectionAsync(1);
        await proxy.Origin.WaitForRequestsAsync(1);
        await clock.WaitForArmedAsync(responseTimeout);
        clock.Advance(responseTimeout);
        var response = await client.ReadResponseAsync("POST");

        ProxyAssert.IsJsonError(response, 504);
        Assert.That(response.JsonError, Does.Contain("in time").Or.Contain("timed out").Or.Contain("timeout"), response.Describe());
        await ProxyAssert.ClosesConnectionAsync(client, response);
        await client.DisposeAsync();
        await upstream.ClosedByProxy.OrTimeoutAsync();
        Assert.That(upstream.ResetByProxy, Is.True, "The upstream connection was closed, not aborted.");
    }

    // A review regression: a response timeout on a connection watched while idle is the timeout (504), not an
    // upstream close (502).
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
        await proxy.SendAndAwaitTheEndOfTheRequestAsync("/api/warm");
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

    [Test]
    public async Task NoResponseHeadWithinTheUpstreamTimeout_Gets504Json()
    {
        await using var proxy = await ProxyHarness.StartAsync(
            TestUpstream.StartTls(exchange => exchange.WaitAsync(exchange.Connection.ClosedByProxy)),
            new Dictionary<string, string?> { ["PROXY_UPSTREAM_RESPONSE_TIMEOUT"] = "0.5" });

        var response = await proxy.SendAsync(proxy.Get("/api/chat"));

        ProxyAssert.IsJsonError(response, 504);
        var upstream = await proxy.Origin.WaitForConnectionAsync(1);
        await upstream.ClosedByProxy.OrTimeoutAsync();
    }

    [Test]
    public async Task UpstreamSilentLongerThanTheIdleTimeout_TruncatesTheStreamAndClosesTheUpstream()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n");
            await exchange.WaitAsync(exchange.Connection.ClosedByProxy);
        }), new Dictionary<string, string?> { ["PROXY_UPSTREAM_IDLE_TIMEOUT"] = "0.5" });

        var response = await proxy.SendAsync(proxy.Get("/api/chat"));
        var upstream = await proxy.Origin.WaitForConnectionAsync(1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Encoding.Latin1.GetString(response.RawBody), Is.EqualTo("3\r\n{}\n\r\n"));
            Assert.That(response.IsComplete, Is.False, response.Describe());
        }

        await upstream.ClosedByProxy.OrTimeoutAsync();
    }
}
