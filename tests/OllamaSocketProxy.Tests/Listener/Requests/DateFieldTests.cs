using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// RFC 9110 §6.6.1: every final response the client gets carries a Date. The proxy's own answers carry the proxy's
/// clock; a forwarded response keeps the upstream's Date untouched, and gets the proxy's only when it has none.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class DateFieldTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private const string NowText = "Sun, 01 Mar 2026 12:00:00 GMT";

    [Test]
    public async Task ForwardedResponseWithoutDate_GetsTheProxysClock()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), timeProvider: new FakeTimeProvider(Now.AddMilliseconds(250)));

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            Assert.That(response.Headers.All("Date"), Is.EqualTo(new[] { NowText }), response.Describe());
        }
    }

    [TestCase("Date: Tue, 25 Nov 2025 10:00:00 GMT")]
    [TestCase("date:Tue, 25 Nov 2025 10:00:00 GMT")]
    [TestCase("DATE: \tSunday, 06-Nov-94 08:49:37 GMT")]
    public async Task ForwardedResponseWithDate_KeepsItByteForByteAndGetsNoSecond(string dateLine)
    {
        await using var proxy = await ProxyHarness.StartAsync(
            TestUpstream.StartTls(exchange => exchange.RespondAsync(200, "application/json", "{}", dateLine)),
            timeProvider: new FakeTimeProvider(Now));

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        var dateLines = response.Head.Text.Split("\r\n").Where(line => line.StartsWith("date:", StringComparison.OrdinalIgnoreCase));
        Assert.That(dateLines, Is.EqualTo(new[] { dateLine }), response.Describe());
    }

    [Test]
    public async Task ClockMovesOn_TheNextResponseOnTheConnectionCarriesTheNewDate()
    {
        var clock = new FakeTimeProvider(Now);
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), timeProvider: clock);
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/first"));
        var first = await client.ReadResponseAsync();
        clock.Advance(TimeSpan.FromSeconds(61));
        await client.SendAsync("GET / HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
        var second = await client.ReadResponseAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Headers["Date"], Is.EqualTo(NowText), first.Describe());
            Assert.That(second.Headers["Date"], Is.EqualTo("Sun, 01 Mar 2026 12:01:01 GMT"), second.Describe());
        }
    }

    [TestCase("GET / HTTP/1.1\r\nHost: proxy.test\r\n\r\n", 200, TestName = "{m}(health check)")]
    [TestCase("HEAD / HTTP/1.1\r\nHost: proxy.test\r\n\r\n", 200, TestName = "{m}(health check, HEAD)")]
    [TestCase("OPTIONS /api/chat HTTP/1.1\r\nHost: proxy.test\r\n\r\n", 200, TestName = "{m}(OPTIONS)")]
    [TestCase("GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\n\r\n", 401, TestName = "{m}(no token)")]
    [TestCase("GET /api/../tags HTTP/1.1\r\nHost: proxy.test\r\n\r\n", 400, TestName = "{m}(bad target)")]
    [TestCase("PROPFIND /api/tags HTTP/1.1\r\nHost: proxy.test\r\n\r\n", 501, TestName = "{m}(unknown method)")]
    [TestCase("TRACE /api/tags HTTP/1.1\r\nHost: proxy.test\r\n\r\n", 405, TestName = "{m}(TRACE)")]
    public async Task ProxysOwnAnswer_CarriesTheProxysClock(string request, int status)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), timeProvider: new FakeTimeProvider(Now));

        var response = await proxy.SendAsync(request);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(status), response.Describe());
            Assert.That(response.Headers.All("Date"), Is.EqualTo(new[] { NowText }), response.Describe());
        }
    }

    [Test]
    public async Task UpstreamUnreachable_502CarriesTheProxysClock()
    {
        await using var proxy = await ProxyHarness.StartAsync($"http://127.0.0.1:{UnusedPort.Find()}", timeProvider: new FakeTimeProvider(Now));

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        using (Assert.EnterMultipleScope())
        {
            ProxyAssert.IsJsonError(response, 502);
            Assert.That(response.Headers.All("Date"), Is.EqualTo(new[] { NowText }), response.Describe());
        }
    }

    /// <summary>An interim response needs no Date (RFC 9110 §6.6.1 asks it of final ones); the final one has it.</summary>
    [Test]
    public async Task ContinueThenFinalResponse_OnlyTheFinalOneCarriesADate()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), timeProvider: new FakeTimeProvider(Now));
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Expect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        var interim = await client.ReadHeadAsync();
        await client.SendAsync("{}");
        var response = await client.ReadResponseAsync("POST");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(interim.StatusCode, Is.EqualTo(100), interim.Text);
            Assert.That(interim.Headers.Contains("Date"), Is.False, interim.Text);
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            Assert.That(response.Headers.All("Date"), Is.EqualTo(new[] { NowText }), response.Describe());
        }
    }
}
