using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// Requests beyond the configured limits get their status, and nothing goes upstream
/// (docs/BEHAVIOUR.md#limits-and-timeouts). A chunked body, whose size nobody announced, that grows past
/// <c>PROXY_MAX_REQUEST_BODY_SIZE</c> while it is already streaming upstream gets 413 (no response has started) and
/// its upstream request is aborted, never completed; no more than the limit of its data reaches the upstream
/// (docs/BEHAVIOUR.md#request-body-framing).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestLimitsTests
{
    private const int ChunkedBodyLimit = 1000;

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
    public async Task ChunkedBodyGrowingPastTheLimit_Gets413AndTheUpstreamRequestIsAborted()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(),
            new Dictionary<string, string?> { ["PROXY_MAX_REQUEST_BODY_SIZE"] = ChunkedBodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        var client = await proxy.ConnectAsync();
        var first = Chunk('a', 600);

        await client.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Transfer-Encoding: chunked\r\n\r\n{first}");
        var upstream = await proxy.Origin.WaitForConnectionAsync(1);
        Assert.That(await proxy.Origin.WaitForBodyBytesAsync(upstream, first.Length), Is.True, "The first chunk, within the limit, never reached the upstream.");
        await client.SendAsync(Chunk('b', 600) + "0\r\n\r\n");
        var response = await client.ReadResponseAsync("POST");
        await upstream.ClosedByProxy.OrTimeoutAsync();

        ProxyAssert.IsJsonError(response, 413);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        var partial = Encoding.Latin1.GetString(proxy.Origin.IncompleteRequests.Single());
        var body = partial[(partial.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(upstream.ResetByProxy, Is.True, "The upstream connection was closed, not aborted.");
            Assert.That(proxy.Origin.Requests, Is.Empty, "The upstream received a complete request although its body was too large.");
            Assert.That(body.Count(c => c is 'a' or 'b'), Is.LessThanOrEqualTo(ChunkedBodyLimit), $"More than the limit reached the upstream:\r\n{partial}");
            Assert.That(body, Does.Not.EndWith("0\r\n\r\n"), "The last chunk reached the upstream.");
        }
    }

    private static string Chunk(char fill, int size) => $"{size:x}\r\n{new string(fill, size)}\r\n";
}
