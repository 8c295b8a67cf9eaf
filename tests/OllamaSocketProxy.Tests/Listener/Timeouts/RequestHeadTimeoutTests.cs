using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Timeouts;

/// <summary>
/// A head not complete within <c>PROXY_REQUEST_HEAD_TIMEOUT</c> gets 408 and a close (Kestrel's
/// RequestHeadersTimeout; docs/BEHAVIOUR.md#limits-and-timeouts), and nothing of it goes upstream. Time passes on an
/// <see cref="ObservedClock"/>, after the proxy armed the deadline on the head's first bytes; a sub-second limit on
/// the real clock only where the awaited event is the timeout itself.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestHeadTimeoutTests
{
    private static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(30);

    private static readonly Dictionary<string, string?> Limits = new()
    {
        ["PROXY_REQUEST_HEAD_TIMEOUT"] = "30",
        ["PROXY_KEEPALIVE_TIMEOUT"] = "130",
    };

    [Test]
    public async Task HeadNotCompleteWithinTheHeadTimeout_Gets408JsonAndTheConnectionClosed()
    {
        var clock = new ObservedClock();
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), Limits, timeProvider: clock);
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}");
        await clock.WaitForArmedAsync(HeadTimeout);
        clock.Advance(HeadTimeout);
        var response = await client.ReadResponseAsync();

        ProxyAssert.IsJsonError(response, 408);
        Assert.That(response.Head.AnnouncesClose, Is.True, response.Describe());
        await ProxyAssert.ClosesConnectionAsync(client, response);
        await client.DisposeAsync();
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task HeadNotCompleteInTime_Gets408AndTheConnectionClosed()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(),
            new Dictionary<string, string?> { ["PROXY_REQUEST_HEAD_TIMEOUT"] = "0.5" });
        var client = await proxy.ConnectAsync();

        await client.SendAsync("GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\n");
        var response = await client.ReadResponseAsync();

        ProxyAssert.IsJsonError(response, 408);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }
}
