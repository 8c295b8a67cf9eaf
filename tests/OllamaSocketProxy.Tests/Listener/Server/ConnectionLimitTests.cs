using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Server;

/// <summary>
/// Beyond <c>PROXY_MAX_CONNECTIONS</c> a new client gets 503 JSON and a close at once, never a hang (Kestrel's
/// ConnectionLimitTests); once an admitted connection closes, a new one is admitted again
/// (docs/BEHAVIOUR.md#connections).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ConnectionLimitTests
{
    private static readonly Dictionary<string, string?> TwoConnections = new() { ["PROXY_MAX_CONNECTIONS"] = "2" };

    [Test]
    public async Task ConnectionBeyondTheLimitThatSendsNothing_Gets503JsonAndIsClosed()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), TwoConnections);
        await OpenAdmittedConnectionsAsync(proxy, 2);

        var extra = await proxy.ConnectAsync();
        var response = await extra.ReadResponseAsync();

        ProxyAssert.IsJsonError(response, 503);
        await ProxyAssert.ClosesConnectionAsync(extra, response);
    }

    [Test]
    public async Task ConnectionBeyondTheLimitThatSendsARequest_Gets503JsonAndNothingGoesUpstream()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), TwoConnections);
        await OpenAdmittedConnectionsAsync(proxy, 2);

        var extra = await proxy.ConnectAsync();
        await extra.SendAsync(proxy.Get("/api/extra"));
        var response = await extra.ReadResponseAsync();

        ProxyAssert.IsJsonError(response, 503);
        Assert.That(response.Head.AnnouncesClose, Is.True, response.Describe());
        await ProxyAssert.ClosesConnectionAsync(extra, response);
        Assert.That(proxy.Origin.Requests.Select(request => request.Target), Has.None.EqualTo("/api/extra"));
    }

    /// <summary>The refusal is written per connection, so its Date follows the proxy's clock (RFC 9110 §6.6.1).</summary>
    [Test]
    public async Task RefusalBeyondTheLimit_CarriesTheProxysClock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), TwoConnections, timeProvider: clock);
        await OpenAdmittedConnectionsAsync(proxy, 2);

        var first = await (await proxy.ConnectAsync()).ReadResponseAsync();
        clock.Advance(TimeSpan.FromSeconds(3));
        var second = await (await proxy.ConnectAsync()).ReadResponseAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Headers.All("Date"), Is.EqualTo(new[] { "Sun, 01 Mar 2026 12:00:00 GMT" }), first.Describe());
            Assert.That(second.Headers.All("Date"), Is.EqualTo(new[] { "Sun, 01 Mar 2026 12:00:03 GMT" }), second.Describe());
        }
    }

    [Test]
    public async Task AdmittedConnectionCloses_NextConnectionIsAdmitted()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), TwoConnections);
        var admitted = await OpenAdmittedConnectionsAsync(proxy, 2);
        var refused = await proxy.ConnectAsync();
        ProxyAssert.IsJsonError(await refused.ReadResponseAsync(), 503);

        await admitted[0].DisposeAsync();
        // The proxy frees a slot only after it closed the socket, later than anything a client can see.
        await proxy.WaitForServerAsync(server => server.ConnectionCount <= 1);
        var next = await proxy.ConnectAsync();
        await next.SendAsync(proxy.Get("/api/next"));
        var response = await next.ReadResponseAsync();

        Assert.That(response.BodyText, Is.EqualTo("""{"target":"/api/next"}"""), response.Describe());
    }

    /// <summary>Opens connections that each carried a request, so the proxy has surely admitted and counted them.</summary>
    private static async Task<RawClient[]> OpenAdmittedConnectionsAsync(ProxyHarness proxy, int count)
    {
        var clients = new RawClient[count];
        for (var i = 0; i < count; i++)
        {
            clients[i] = await proxy.ConnectAsync();
            await clients[i].SendAsync(proxy.Get($"/api/admitted-{i}"));
            var response = await clients[i].ReadResponseAsync();
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        }

        Assert.That(proxy.Server.ConnectionCount, Is.EqualTo(count));
        return clients;
    }
}
