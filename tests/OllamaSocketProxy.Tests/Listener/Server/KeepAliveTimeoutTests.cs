using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Server;

/// <summary>
/// A connection that waits for its next request longer than <c>PROXY_KEEPALIVE_TIMEOUT</c> is closed quietly: no
/// 408, since no request was started (Kestrel's KeepAliveTimeout; docs/BEHAVIOUR.md#limits-and-timeouts). Time
/// passes on an <see cref="ObservedClock"/>; a sub-second limit on the real clock only where the awaited event is the
/// timeout itself.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class KeepAliveTimeoutTests
{
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(130);

    private static readonly Dictionary<string, string?> Limits = new()
    {
        ["PROXY_REQUEST_HEAD_TIMEOUT"] = "30",
        ["PROXY_KEEPALIVE_TIMEOUT"] = "130",
    };

    [Test]
    public async Task IdleAfterAResponse_ClosedQuietlyAtTheKeepAliveTimeout()
    {
        var clock = new ObservedClock();
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), Limits, timeProvider: clock);
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/tags"));
        var response = await client.ReadResponseAsync();
        await clock.WaitForArmedAsync(KeepAlive);
        clock.Advance(KeepAlive);
        var afterResponse = await client.ReadUntilClosedAsync();

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(afterResponse, Is.Empty, "The proxy sent something on closing an idle keep-alive connection.");
    }

    [Test]
    public async Task ConnectionThatNeverSendsAByte_ClosedQuietlyAtTheKeepAliveTimeout()
    {
        var clock = new ObservedClock();
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), Limits, timeProvider: clock);
        var client = await proxy.ConnectAsync();

        await clock.WaitForArmedAsync(KeepAlive);
        clock.Advance(KeepAlive);
        var received = await client.ReadUntilClosedAsync();

        Assert.That(received, Is.Empty, "A connection that never started a request got a response.");
    }

    [Test]
    public async Task RequestJustBeforeTheKeepAliveTimeout_IsServed()
    {
        var clock = new ObservedClock();
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), Limits, timeProvider: clock);
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/tags"));
        await client.ReadResponseAsync();
        await clock.WaitForArmedAsync(KeepAlive);
        clock.Advance(KeepAlive - TimeSpan.FromSeconds(1));
        await client.SendAsync(proxy.Get("/api/ps"));
        var second = await client.ReadResponseAsync();

        Assert.That(second.BodyText, Is.EqualTo("""{"target":"/api/ps"}"""), second.Describe());
    }

    [Test]
    public async Task IdleKeepAliveConnection_IsClosedQuietlyAfterTheKeepAliveTimeout()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(),
            new Dictionary<string, string?> { ["PROXY_KEEPALIVE_TIMEOUT"] = "0.5" });
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/tags"));
        var response = await client.ReadResponseAsync();

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        await ProxyAssert.ClosesConnectionAsync(client, response);
    }
}
