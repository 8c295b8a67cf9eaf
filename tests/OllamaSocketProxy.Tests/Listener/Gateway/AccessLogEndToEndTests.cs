using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// The access log of a gateway (README.md#several-clients-and-keys): each line names the client, the model when the
/// request names one, and the upstream key by its label only.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class AccessLogEndToEndTests
{
    [Test]
    public async Task ForwardedRequest_LineNamesClientModelAndKeyLabel()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        var (one, two) = ($"sk-one-{Guid.NewGuid():N}", $"sk-two-{Guid.NewGuid():N}");
        await using var gateway = await GatewayHarness.StartAsync(null, [kids], apiKeys: $"{one},{two}");

        await gateway.SendAsync(gateway.Post(kids, "/api/chat", """{"model":"gemma3:4b","messages":[]}"""));
        var chat = await gateway.WaitForAccessLineAsync("POST /api/chat", 200);
        await gateway.SendAsync(gateway.Get(kids, "/api/tags"));
        var tags = await gateway.WaitForAccessLineAsync("GET /api/tags", 200);

        Assert.That(chat, Does.EndWith($"client=kids model=gemma3:4b key={gateway.KeyLabel(1)}"));
        Assert.That(tags, Does.EndWith($"client=kids model=- key={gateway.KeyLabel(2)}"));
    }

    [Test]
    public async Task UnrestrictedClient_LineStillNamesTheModel()
    {
        var laptop = new GatewayClient("laptop");
        await using var gateway = await GatewayHarness.StartAsync(null, [laptop]);

        await gateway.SendAsync(gateway.Post(laptop, "/v1/chat/completions", """{"messages":[],"model":"qwen3-coder:480b"}"""));

        Assert.That(await gateway.WaitForAccessLineAsync("POST /v1/chat/completions", 200),
            Does.EndWith($"client=laptop model=qwen3-coder:480b key={gateway.KeyLabel(1)}"));
    }

    [Test]
    public async Task RefusedRequest_LineNamesClientAndModelButNoKey()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        var response = await gateway.SendAsync(gateway.Post(kids, "/api/chat", """{"model":"gpt-oss:120b","messages":[]}"""));

        ProxyAssert.IsJsonError(response, 403);
        Assert.That(await gateway.WaitForAccessLineAsync("POST /api/chat", 403), Does.EndWith("client=kids model=gpt-oss:120b key=-"));
    }

    [Test]
    public async Task UnauthenticatedRequest_LineNamesNoClient()
    {
        await using var gateway = await GatewayHarness.StartAsync(null, [new GatewayClient("kids")]);

        var response = await gateway.SendAsync("GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\nAuthorization: Bearer wrong\r\n\r\n");

        ProxyAssert.IsJsonError(response, 401);
        Assert.That(await gateway.WaitForAccessLineAsync("GET /api/tags", 401), Does.EndWith("client=- model=- key=-"));
    }
}
