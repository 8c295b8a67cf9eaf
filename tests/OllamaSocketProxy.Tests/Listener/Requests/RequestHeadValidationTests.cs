using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// RFC 9112 §2–§5: a malformed head gets a 400 whatever its token, and nothing of it goes upstream
/// (docs/BEHAVIOUR.md#request-head).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestHeadValidationTests
{
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(missing Host)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: a.test{CR}{LF}Host: b.test{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(two Host fields)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: a.test, b.test{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(Host list)")]
    [TestCase("GET /api/tags HTTP/1.0{CR}{LF}Host: a.test{CR}{LF}Host: b.test{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(two Host fields on HTTP/1.0)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}X-A: 1{CR}{LF} folded{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(obs-fold with space)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}X-A: 1{CR}{LF}{TAB}folded{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(obs-fold with tab)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}X-A : 1{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(space before colon)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}X-A{TAB}: 1{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(tab before colon)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}X-A: 1{CR}2{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(bare CR in value)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}X-A: 1{NUL}2{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(NUL in value)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}X-A: 1{SOH}2{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(control character in value)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}X{NUL}A: 1{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(NUL in name)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}X(A): 1{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(delimiter in name)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}: no name{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(empty name)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}No colon here{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(line without colon)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}{auth}{CR}{CR}{LF}", TestName = "{m}(bare CR before the end of the head)")]
    [TestCase("GET  /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(two spaces in request line)")]
    [TestCase("GET /api/tags HTTP/1.1 extra{CR}{LF}Host: proxy.test{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(extra word in request line)")]
    [TestCase("GET /api/tags HTTP/1.x{CR}{LF}Host: proxy.test{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(malformed version)")]
    [TestCase("GET /api/tags{CR}{LF}Host: proxy.test{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(HTTP/0.9 request line)")]
    [TestCase("G(T /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(delimiter in method)")]
    [TestCase("GET api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(target without leading slash)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF} Host: proxy.test{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(whitespace before the first field)")]
    [TestCase("GET /api/tags HTTP/1.1{CR}{LF}Host:{CR}{LF}{auth}{CR}{LF}", TestName = "{m}(empty Host)")]
    [TestCase("GET / HTTP/1.1{CR}{LF}Host: {CR}{LF}{CR}{LF}", TestName = "{m}(empty Host on the health check)")]
    [TestCase("POST /api/chat HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}{auth}Content-Type: application/json{CR}{LF}Content-Type: text/plain{CR}{LF}Content-Length: 2{CR}{LF}{CR}{LF}{}", TestName = "{m}(two Content-Type values)")]
    public async Task MalformedHead_Gets400AndNothingReachesUpstream(string request)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(proxy.Fill(request));

        ProxyAssert.IsJsonError(response, 400);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task MalformedHead_ClosesTheClientConnection()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Fill("GET /api/tags HTTP/1.1{CR}{LF}Host: proxy.test{CR}{LF}X-A : 1{CR}{LF}{auth}{CR}{LF}") + proxy.Get("/api/next"));
        var response = await client.ReadResponseAsync();

        ProxyAssert.IsJsonError(response, 400);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    /// <summary>RFC 9112 §3.2.2: an absolute-form target brings its own authority, so an empty Host does not matter there.</summary>
    [Test]
    public async Task EmptyHostWithAbsoluteFormTarget_IsForwarded()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync($"GET http://proxy.test/api/tags HTTP/1.1\r\nHost:\r\n{proxy.AuthorizationField}\r\n");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(proxy.Origin.Requests.Single().Target, Is.EqualTo("/api/tags"));
    }

    /// <summary>Identical Content-Type repeats leave no doubt about the type, so they pass (RFC 9110 §8.3).</summary>
    [Test]
    public async Task IdenticalContentTypeRepeated_IsForwardedAsSent()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(
            $"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Type: application/json\r\ncontent-type: application/json\r\nContent-Length: 2\r\n\r\n{{}}");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(proxy.Origin.Requests.Single().Headers.All("Content-Type"), Is.EqualTo(new[] { "application/json", "application/json" }));
    }
}
