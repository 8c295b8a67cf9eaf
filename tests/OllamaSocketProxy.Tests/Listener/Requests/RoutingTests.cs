using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>Which client targets go where, and which never leave the proxy (docs/BEHAVIOUR.md#routing).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class RoutingTests
{
    [TestCase("/api/tags", "/api/tags")]
    [TestCase("/api/api/tags", "/api/tags")]
    [TestCase("/api/api/api/chat", "/api/chat")]
    [TestCase("/v1/chat/completions", "/v1/chat/completions")]
    [TestCase("/v1/messages", "/v1/messages")]
    [TestCase("/v1/models", "/v1/models")]
    [TestCase("/generate", "/api/generate")]
    [TestCase("/chat", "/api/chat")]
    [TestCase("/tags", "/api/tags")]
    [TestCase("/apix", "/api/apix")]
    [TestCase("/api/tags?b=2&a=%20x+y&&=", "/api/tags?b=2&a=%20x+y&&=")]
    [TestCase("/api/api/show?name=llama3.2%3Alatest", "/api/show?name=llama3.2%3Alatest")]
    [TestCase("/generate?x=%7E&y", "/api/generate?x=%7E&y")]
    public async Task Target_IsForwardedToMappedPath(string clientTarget, string upstreamTarget)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(proxy.Get(clientTarget));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(proxy.Origin.Requests.Single().RequestLine, Is.EqualTo($"GET {upstreamTarget} HTTP/1.1"));
    }

    [TestCase("http://other.invalid:9/api/tags?x=1", "/api/tags?x=1")]
    [TestCase("https://other.invalid/tags", "/api/tags")]
    [TestCase("http://127.0.0.1:1/api/api/chat", "/api/chat")]
    public async Task AbsoluteFormTarget_UsesOnlyPathAndQueryAndTheConfiguredOrigin(string clientTarget, string upstreamTarget)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync($"GET {clientTarget} HTTP/1.1\r\nHost: other.invalid:9\r\n{proxy.AuthorizationField}\r\n");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var forwarded = proxy.Origin.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(forwarded.RequestLine, Is.EqualTo($"GET {upstreamTarget} HTTP/1.1"));
            Assert.That(forwarded.Headers.All("Host"), Is.EqualTo(new[] { proxy.Origin.Authority }));
        }
    }

    [TestCase("CONNECT ollama.com:443 HTTP/1.1\r\nHost: ollama.com:443\r\n")]
    [TestCase("CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n")]
    [TestCase("TRACE /api/tags HTTP/1.1\r\nHost: proxy.test\r\n")]
    [TestCase("TRACE / HTTP/1.1\r\nHost: proxy.test\r\n")]
    public async Task ConnectOrTrace_Gets405AndNothingReachesUpstream(string head)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(head + proxy.AuthorizationField + "\r\n");

        using (Assert.EnterMultipleScope())
        {
            ProxyAssert.IsJsonError(response, 405);
            Assert.That(response.Headers.All("Allow"), Is.EqualTo(new[] { ServedMethods }), response.Describe());
        }

        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    /// <summary>What the proxy serves, in every 405, 501 and OPTIONS answer (RFC 9110 §10.2.1).</summary>
    private const string ServedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

    /// <summary>RFC 9110 §9.1: methods are case-sensitive, so <c>get</c> is a method the proxy does not serve; §15.6.2: 501.</summary>
    [TestCase("get")]
    [TestCase("Post")]
    [TestCase("PROPFIND")]
    [TestCase("M-SEARCH")]
    [TestCase("QUERY")]
    [TestCase("UPDATEREDIRECTREF")]
    public async Task MethodTheProxyDoesNotServe_Gets501WithAllowAndNothingReachesUpstream(string method)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"{method} /api/tags HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}\r\n");
        var response = await client.ReadResponseAsync();

        using (Assert.EnterMultipleScope())
        {
            ProxyAssert.IsJsonError(response, 501);
            Assert.That(response.Headers.All("Allow"), Is.EqualTo(new[] { ServedMethods }), response.Describe());
        }

        await ProxyAssert.ClosesConnectionAsync(client, response);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    /// <summary>No method is longer than 17 bytes: a longer token is a malformed request line (400), even past the line limit (not 414).</summary>
    [TestCase(18)]
    [TestCase(100)]
    [TestCase(9000)]
    public async Task MethodLongerThanAnyRegistered_Gets400AndNothingReachesUpstream(int length)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync($"{new string('A', length)} /api/tags HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}\r\n");

        ProxyAssert.IsJsonError(response, 400);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task LongMethodTokenWithoutALineEnd_Gets400AtOnce()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        // No SP, no line end: the answer can only come from the token's length, not from the line or a timeout.
        await client.SendAsync(new string('A', 64));
        var response = await client.ReadResponseAsync();

        ProxyAssert.IsJsonError(response, 400);
        await ProxyAssert.ClosesConnectionAsync(client, response);
    }

    [Test]
    public async Task GetRootWithoutToken_IsAnsweredLocallyAsOllamaIsRunning()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync("GET / HTTP/1.1\r\nHost: proxy.test\r\n\r\n");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            Assert.That(response.Headers["Content-Type"], Does.StartWith("text/plain"));
            Assert.That(response.BodyText, Is.EqualTo("Ollama is running"));
        }

        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task HeadRootWithoutToken_IsAnsweredLocallyWithoutBodyAndConnectionStaysUsable()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync("HEAD / HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
        var head = await client.ReadResponseAsync("HEAD");
        await client.SendAsync("GET / HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
        var get = await client.ReadResponseAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(head.StatusCode, Is.EqualTo(200), head.Describe());
            Assert.That(head.Headers["Content-Type"], Does.StartWith("text/plain"));
            Assert.That(get.StatusCode, Is.EqualTo(200), get.Describe());
            Assert.That(get.BodyText, Is.EqualTo("Ollama is running"));
        }

        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    /// <summary>RFC 9110 §9.3.7: OPTIONS is answered by the proxy on any target, without a token; nothing goes upstream.</summary>
    [TestCase("*")]
    [TestCase("/")]
    [TestCase("/api/chat")]
    [TestCase("/chat?x=1")]
    [TestCase("/v1/chat/completions")]
    [TestCase("http://other.invalid/api/tags")]
    public async Task OptionsOnAnyTargetWithoutToken_200WithAllowAndTheConnectionStaysUsable(string target)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"OPTIONS {target} HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
        var options = await client.ReadResponseAsync("OPTIONS");
        await client.SendAsync("GET / HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
        var next = await client.ReadResponseAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.StatusCode, Is.EqualTo(200), options.Describe());
            Assert.That(options.Headers.All("Allow"), Is.EqualTo(new[] { ServedMethods }), options.Describe());
            Assert.That(options.Headers["Content-Length"], Is.EqualTo("0"), options.Describe());
            Assert.That(options.Head.AnnouncesClose, Is.False, options.Describe());
            Assert.That(next.BodyText, Is.EqualTo("Ollama is running"), next.Describe());
        }

        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task OptionsWithUnsafeTarget_Gets400()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync("OPTIONS /api/../tags HTTP/1.1\r\nHost: proxy.test\r\n\r\n");

        ProxyAssert.IsJsonError(response, 400);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [TestCase("/api/./tags")]
    [TestCase("/api/../tags")]
    [TestCase("/api/tags/..")]
    [TestCase("/api/tags/.")]
    [TestCase("/..")]
    [TestCase("/api/%2e%2e/tags")]
    [TestCase("/api/%2E%2E/tags")]
    [TestCase("/api/.%2e/tags")]
    [TestCase("/api/%2e/tags")]
    [TestCase("/api/a%2fb")]
    [TestCase("/api/a%2Fb")]
    [TestCase("/api/a%5cb")]
    [TestCase("/api/a%5Cb")]
    [TestCase("/api/a\\b")]
    [TestCase("/api/tags#fragment")]
    [TestCase("/api/tags?x=1#fragment")]
    [TestCase("/api/t{SOH}ags")]
    [TestCase("/api/t{NUL}ags")]
    [TestCase("/api/t{DEL}ags")]
    [TestCase("/api/t{TAB}ags")]
    public async Task UnsafeTarget_Gets400AndNothingReachesUpstream(string target)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(proxy.Fill($"GET {target} HTTP/1.1\r\nHost: proxy.test\r\n{{auth}}\r\n"));

        ProxyAssert.IsJsonError(response, 400);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }
}
