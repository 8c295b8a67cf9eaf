using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// Requests beyond the configured limits get their status, and nothing goes upstream
/// (docs/BEHAVIOUR.md#limits-and-timeouts).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestLimitsTests
{
    [Test]
    public async Task RequestTargetLongerThanTheLineLimit_Gets414()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(),
            new Dictionary<string, string?> { ["PROXY_MAX_REQUEST_LINE_SIZE"] = "256" });

        var response = await proxy.SendAsync(proxy.Get("/api/tags?q=" + new string('a', 400)));

        ProxyAssert.IsJsonError(response, 414);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task HeadLargerThanTheHeadLimit_Gets431()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(),
            new Dictionary<string, string?> { ["PROXY_MAX_REQUEST_HEAD_SIZE"] = "1024" });

        var response = await proxy.SendAsync($"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}X-Big: {new string('b', 2000)}\r\n\r\n");

        ProxyAssert.IsJsonError(response, 431);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task MoreFieldsThanTheFieldLimit_Gets431()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(),
            new Dictionary<string, string?> { ["PROXY_MAX_REQUEST_HEADERS"] = "10" });
        var fields = string.Concat(Enumerable.Range(1, 20).Select(i => $"X-Field-{i}: {i}\r\n"));

        var response = await proxy.SendAsync($"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}{fields}\r\n");

        ProxyAssert.IsJsonError(response, 431);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task ContentLengthAboveTheBodyLimit_Gets413()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(),
            new Dictionary<string, string?> { ["PROXY_MAX_REQUEST_BODY_SIZE"] = "16" });

        var response = await proxy.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Length: 17\r\n\r\n{new string('x', 17)}");

        ProxyAssert.IsJsonError(response, 413);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task BodyAtTheBodyLimit_IsForwarded()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(),
            new Dictionary<string, string?> { ["PROXY_MAX_REQUEST_BODY_SIZE"] = "16" });

        var response = await proxy.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Length: 16\r\n\r\n{new string('x', 16)}");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
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
