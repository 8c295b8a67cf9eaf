using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Upstream;

/// <summary>
/// An upstream that takes the connection but never completes the TLS handshake is a 502 after
/// <c>PROXY_UPSTREAM_CONNECT_TIMEOUT</c>; one that never sends a response head is a 504 after
/// <c>PROXY_UPSTREAM_RESPONSE_TIMEOUT</c>, and its connection is aborted. Both errors say what timed out
/// (docs/BEHAVIOUR.md#limits-and-timeouts). Time passes on an <see cref="ObservedClock"/>.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class UpstreamTimeoutTests
{
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
}
