using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>The head the upstream receives (docs/BEHAVIOUR.md#forwarded-request).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ForwardedHeadTests
{
    private const string Body = """{"model":"llama3.2","messages":[]}""";

    [Test]
    public async Task ForwardedRequest_HasMappedRequestLineUpstreamHostKeyAndVia()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(
            $"POST /chat?trace=1 HTTP/1.1\r\nHost: localhost:11434\r\nAuthorization: Bearer {proxy.Token}\r\n" +
            $"Content-Type: application/json\r\nContent-Length: {Body.Length}\r\n\r\n{Body}");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var forwarded = proxy.Origin.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(forwarded.RequestLine, Is.EqualTo("POST /api/chat?trace=1 HTTP/1.1"));
            Assert.That(forwarded.Headers.All("Host"), Is.EqualTo(new[] { proxy.Origin.Authority }), forwarded.Head);
            Assert.That(forwarded.Headers.All("Authorization"), Is.EqualTo(new[] { $"Bearer {proxy.ApiKey}" }), forwarded.Head);
            Assert.That(forwarded.Headers.All("Via"), Is.EqualTo(new[] { "1.1 ollama-socket-proxy" }), forwarded.Head);
            Assert.That(forwarded.BodyText, Is.EqualTo(Body));
        }
    }

    [Test]
    public async Task HopByHopFields_AreRemovedAndOtherFieldsPassUnchangedInOrder()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(
            "POST /api/chat HTTP/1.1\r\n" +
            "User-Agent: ollama-python/0.4.7 (x86_64 linux) Python/3.12.3\r\n" +
            "Host: localhost:11434\r\n" +
            "Accept: application/json\r\n" +
            "Connection: keep-alive, X-Hop-One, x-hop-two\r\n" +
            "X-Hop-One: named by Connection\r\n" +
            "Keep-Alive: timeout=5\r\n" +
            "X-End-To-End: \"kept\" as-is ;q=1\r\n" +
            proxy.AuthorizationField +
            "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n" +
            "Proxy-Connection: keep-alive\r\n" +
            "TE: trailers\r\n" +
            "Trailer: X-Checksum\r\n" +
            "Upgrade: websocket\r\n" +
            "X-Hop-Two: also named\r\n" +
            "Content-Type: application/json\r\n" +
            "X-Repeated: 1\r\n" +
            "X-Repeated: 2\r\n" +
            $"Content-Length: {Body.Length}\r\n" +
            "\r\n" +
            Body);

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var forwarded = proxy.Origin.Requests.Single();
        var endToEnd = forwarded.Headers
            .Where(field => !field.Is("Host") && !field.Is("Authorization") && !field.Is("Via"))
            .Select(field => field.ToString());
        Assert.That(endToEnd, Is.EqualTo(new[]
        {
            "User-Agent: ollama-python/0.4.7 (x86_64 linux) Python/3.12.3",
            "Accept: application/json",
            "X-End-To-End: \"kept\" as-is ;q=1",
            "Content-Type: application/json",
            "X-Repeated: 1",
            "X-Repeated: 2",
            $"Content-Length: {Body.Length}",
        }), forwarded.Head);
    }

    [Test]
    public async Task ClientAddress_IsNotSentUpstream()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var forwarded = proxy.Origin.Requests.Single();
        Assert.That(forwarded.Headers.Names, Has.None.Matches<string>(name =>
            name.Equals("Forwarded", StringComparison.OrdinalIgnoreCase) || name.StartsWith("X-Forwarded", StringComparison.OrdinalIgnoreCase)
            || name.Equals("X-Real-IP", StringComparison.OrdinalIgnoreCase)), forwarded.Head);
        Assert.That(forwarded.Head, Does.Not.Contain("127.0.0.1"));
    }

    [Test]
    public async Task Http10Request_IsForwardedAsHttp11WithHost()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"GET /api/tags HTTP/1.0\r\n{proxy.AuthorizationField}\r\n");
        var response = await client.ReadResponseAsync();

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var forwarded = proxy.Origin.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(forwarded.RequestLine, Is.EqualTo("GET /api/tags HTTP/1.1"));
            Assert.That(forwarded.Headers.All("Host"), Is.EqualTo(new[] { proxy.Origin.Authority }));
        }

        await ProxyAssert.ClosesConnectionAsync(client, response);
    }

    [Test]
    public async Task ClientConnectionClose_IsHonouredAfterTheResponse()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n{proxy.AuthorizationField}\r\n");
        var response = await client.ReadResponseAsync();

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        await ProxyAssert.ClosesConnectionAsync(client, response);
        Assert.That(proxy.Origin.Requests.Single().Headers.Contains("Connection"), Is.False, "Connection: close must not be forwarded to the pooled upstream connection.");
    }

    [Test]
    public async Task TlsUpstream_GetsTheOriginsHostAsSniAndHttp11ByAlpn()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var upstream = proxy.Origin.Connections.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(upstream.ServerName, Is.EqualTo("localhost"));
            Assert.That(upstream.NegotiatedProtocol, Is.EqualTo("http/1.1"));
        }
    }
}
