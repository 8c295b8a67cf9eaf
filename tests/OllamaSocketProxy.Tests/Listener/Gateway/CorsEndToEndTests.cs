using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// CORS through the real proxy (<c>PROXY_ORIGINS</c>, README.md#several-clients-and-keys): a preflight is answered
/// without a token, a matching <c>Origin</c> gets <c>Access-Control-Allow-Origin</c> on every answer, errors included,
/// and any other origin gets no CORS field at all.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class CorsEndToEndTests
{
    private const string LocalOrigin = "http://localhost:3000";

    [Test]
    public async Task Preflight_IsAnsweredWithoutTokenAndNothingReachesUpstream()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        var response = await gateway.SendAsync(
            $"OPTIONS /api/chat HTTP/1.1\r\nHost: proxy.test\r\nOrigin: {LocalOrigin}\r\nAccess-Control-Request-Method: POST\r\n"
            + "Access-Control-Request-Headers: authorization, content-type\r\n\r\n");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            Assert.That(response.Headers["Access-Control-Allow-Origin"], Is.EqualTo(LocalOrigin));
            Assert.That(response.Headers["Access-Control-Allow-Methods"]?.Split(", "), Does.Contain("POST"));
            Assert.That(response.Headers["Access-Control-Allow-Headers"], Is.EqualTo("authorization, content-type"));
            Assert.That(response.Headers["Access-Control-Max-Age"], Is.EqualTo("43200"));
            Assert.That(response.Headers["Vary"], Does.Contain("Origin"));
        }

        await gateway.AssertNothingElseReachedUpstreamAsync(kids);
    }

    [Test]
    public async Task MatchingOrigin_GetsAllowOriginOnAForwardedAnswer()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        var response = await gateway.SendAsync(gateway.Post(kids, "/api/chat", """{"model":"gemma3:4b","messages":[]}""", $"Origin: {LocalOrigin}\r\n"));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        AssertAllowsOrigin(response, LocalOrigin);
    }

    [TestCase(null)]
    [TestCase(LocalOrigin)]
    [TestCase("https://evil.example")]
    public async Task UpstreamCorsFields_AreNeverRelayed_OnlyTheProxysOwn(string? origin)
    {
        await using var gateway = await GatewayHarness.StartAsync(
            exchange => exchange.RespondAsync(200, "application/json", "{}",
                "Access-Control-Allow-Origin: *", "access-control-allow-credentials: true", "Access-Control-Expose-Headers: X-Secret",
                "X-Access-Control-Note: kept"),
            []);

        var response = await gateway.SendAsync(gateway.Get(null, "/api/tags", origin is null ? "" : $"Origin: {origin}\r\n"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            var cors = response.Headers.Names.Where(name => name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
            Assert.That(cors, Is.EqualTo(origin == LocalOrigin ? new[] { "Access-Control-Allow-Origin" } : []), response.Describe());
            Assert.That(response.Headers.Names, Does.Contain("X-Access-Control-Note"));
        }

        if (origin == LocalOrigin)
        {
            AssertAllowsOrigin(response, LocalOrigin);
        }
    }

    [Test]
    public async Task MatchingOrigin_GetsAllowOriginOnAMissingToken401()
    {
        await using var gateway = await GatewayHarness.StartAsync(null, [new GatewayClient("kids")]);

        var response = await gateway.SendAsync($"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\nOrigin: {LocalOrigin}\r\n\r\n");

        ProxyAssert.IsJsonError(response, 401);
        AssertAllowsOrigin(response, LocalOrigin);
    }

    [Test]
    public async Task MatchingOrigin_GetsAllowOriginOnAModelPolicy403()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        var response = await gateway.SendAsync(gateway.Post(kids, "/api/chat", """{"model":"gpt-oss:120b","messages":[]}""", $"Origin: {LocalOrigin}\r\n"));

        ProxyAssert.IsJsonError(response, 403);
        AssertAllowsOrigin(response, LocalOrigin);
    }

    [Test]
    public async Task MatchingOrigin_GetsAllowOriginOnALimit429()
    {
        var kids = new GatewayClient("kids", requestsPerMinute: 1);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        await gateway.SendAsync(gateway.Get(kids, "/api/tags"));
        var response = await gateway.SendAsync(gateway.Get(kids, "/api/tags", $"Origin: {LocalOrigin}\r\n"));

        ProxyAssert.IsJsonError(response, 429);
        AssertAllowsOrigin(response, LocalOrigin);
    }

    [TestCase("https://evil.example")]
    [TestCase("http://localhost.evil.example")]
    [TestCase("null")]
    public async Task OriginThatDoesNotMatch_GetsNoCorsFieldButIsServed(string origin)
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        var preflight = await gateway.SendAsync(
            $"OPTIONS /api/chat HTTP/1.1\r\nHost: proxy.test\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\n\r\n");
        var forwarded = await gateway.SendAsync(gateway.Post(kids, "/api/chat", """{"model":"gemma3:4b","messages":[]}""", $"Origin: {origin}\r\n"));
        var refused = await gateway.SendAsync(gateway.Post(kids, "/api/chat", """{"model":"gpt-oss:120b","messages":[]}""", $"Origin: {origin}\r\n"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(preflight.StatusCode, Is.EqualTo(200), preflight.Describe());
            Assert.That(forwarded.StatusCode, Is.EqualTo(200), forwarded.Describe());
            Assert.That(refused.StatusCode, Is.EqualTo(403), refused.Describe());
            foreach (var response in new[] { preflight, forwarded, refused })
            {
                Assert.That(response.Headers.Names.Where(name => name.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase)), Is.Empty,
                    response.Describe());
            }
        }
    }

    [TestCase(null, false)]
    [TestCase("https://app.example", true)]
    [TestCase("https://*.example", true)]
    public async Task ProxyOrigins_AddsAnOrigin(string? configured, bool allowed)
    {
        const string Origin = "https://app.example";
        var kids = new GatewayClient("kids");
        await using var gateway = await GatewayHarness.StartAsync(
            null, [kids], variables: new Dictionary<string, string?> { ["PROXY_ORIGINS"] = configured });

        var response = await gateway.SendAsync(gateway.Get(kids, "/api/tags", $"Origin: {Origin}\r\n"));
        var local = await gateway.SendAsync(gateway.Get(kids, "/api/tags", $"Origin: {LocalOrigin}\r\n"));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(response.Headers["Access-Control-Allow-Origin"], allowed ? Is.EqualTo(Origin) : Is.Null);
        AssertAllowsOrigin(local, LocalOrigin);
    }

    private static void AssertAllowsOrigin(RawResponse response, string origin)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Headers.All("Access-Control-Allow-Origin"), Is.EqualTo(new[] { origin }), response.Describe());
            Assert.That(response.Headers["Vary"], Does.Contain("Origin"), response.Describe());
        }
    }
}
