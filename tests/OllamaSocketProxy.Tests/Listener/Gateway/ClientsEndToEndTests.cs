using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// Named clients through the real proxy (README.md#several-clients-and-keys): each client authenticates with its own
/// token from <c>PROXY_CLIENTS_FILE</c>, <c>PROXY_AUTH_TOKEN</c> stays the client <c>default</c>, and with neither
/// the proxy is open. No token ever goes upstream, and none is logged (checked by <see cref="GatewayHarness"/>).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ClientsEndToEndTests
{
    [Test]
    public async Task EachClientToken_IsAcceptedAndReplacedByTheKey()
    {
        var laptop = new GatewayClient("laptop");
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [laptop, kids]);

        var fromLaptop = await gateway.SendAsync(gateway.Post(laptop, "/api/chat", """{"model":"gpt-oss:120b","messages":[]}"""));
        var fromKids = await gateway.SendAsync(gateway.Post(kids, "/api/chat", """{"model":"gemma3:4b","messages":[]}"""));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fromLaptop.StatusCode, Is.EqualTo(200), fromLaptop.Describe());
            Assert.That(fromKids.StatusCode, Is.EqualTo(200), fromKids.Describe());
            Assert.That(gateway.Origin.Requests.Select(request => request.Headers.All("Authorization")),
                Is.EqualTo(new[] { new[] { gateway.Bearer(1) }, new[] { gateway.Bearer(1) } }));
        }

        await gateway.Logs.WaitForLineAsync(line => line.Contains("\"POST /api/chat\" 200 ", StringComparison.Ordinal) && line.Contains("client=laptop ", StringComparison.Ordinal));
        await gateway.Logs.WaitForLineAsync(line => line.Contains("\"POST /api/chat\" 200 ", StringComparison.Ordinal) && line.Contains("client=kids ", StringComparison.Ordinal));
    }

    [TestCase("Authorization: Bearer wrong-token")]
    [TestCase("Authorization: Bearer {laptop}x")]
    [TestCase("Authorization: Bearer {laptop-digest}")]
    [TestCase("x-api-key: {laptop-digest}")]
    [TestCase("")]
    public async Task TokenOfNoClient_Gets401AndNothingReachesUpstream(string credentialField)
    {
        var laptop = new GatewayClient("laptop");
        await using var gateway = await GatewayHarness.StartAsync(null, [laptop]);
        var field = credentialField
            .Replace("{laptop-digest}", GatewayFixtures.Sha256Hex(laptop.Token), StringComparison.Ordinal)
            .Replace("{laptop}", laptop.Token, StringComparison.Ordinal);
        var fields = field.Length == 0 ? "" : field + "\r\n";

        var response = await gateway.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{fields}Content-Length: 2\r\n\r\n{{}}");

        ProxyAssert.IsJsonError(response, 401);
        Assert.That(response.Headers["WWW-Authenticate"], Is.EqualTo("Bearer"));
        await gateway.AssertNothingElseReachedUpstreamAsync(laptop);
    }

    [Test]
    public async Task ClientsFileWithoutAuthToken_RequestWithoutTokenGets401()
    {
        var laptop = new GatewayClient("laptop");
        await using var gateway = await GatewayHarness.StartAsync(null, [laptop], requireToken: false);

        var response = await gateway.SendAsync("GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\n\r\n");

        ProxyAssert.IsJsonError(response, 401);
        await gateway.AssertNothingElseReachedUpstreamAsync(laptop);
    }

    [Test]
    public async Task AuthTokenBesideClientsFile_IsTheClientDefaultWithEveryModel()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        var response = await gateway.SendAsync(gateway.Post(null, "/api/generate", """{"model":"gpt-oss:120b","prompt":"hi"}"""));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(gateway.Origin.Requests.Single().Headers.All("Authorization"), Is.EqualTo(new[] { gateway.Bearer(1) }));
        Assert.That(await gateway.WaitForAccessLineAsync("POST /api/generate", 200), Does.Contain("client=default model=gpt-oss:120b"));
    }

    [Test]
    public async Task NeitherAuthTokenNorClientsFile_ProxyIsOpenToEveryRequest()
    {
        await using var gateway = await GatewayHarness.StartAsync(null, [], requireToken: false);

        var response = await gateway.SendAsync("POST /api/pull HTTP/1.1\r\nHost: proxy.test\r\nContent-Length: 22\r\n\r\n{\"model\":\"gemma3:4b\"}\n");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(gateway.Origin.Requests.Single().Headers.All("Authorization"), Is.EqualTo(new[] { gateway.Bearer(1) }));
        Assert.That(await gateway.WaitForAccessLineAsync("POST /api/pull", 200), Does.Contain("client=default"));
    }

    [Test]
    public async Task ApiKeyFieldWithClientToken_IsAcceptedAndNotForwarded()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        const string Body = """{"model":"gemma3:4b","max_tokens":16,"messages":[]}""";
        var response = await gateway.SendAsync(
            $"POST /v1/messages HTTP/1.1\r\nHost: proxy.test\r\nx-api-key: {kids.Token}\r\nanthropic-version: 2023-06-01\r\n"
            + $"Content-Type: application/json\r\nContent-Length: {Body.Length}\r\n\r\n{Body}");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var forwarded = gateway.Origin.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(forwarded.Headers.Contains("x-api-key"), Is.False, forwarded.Head);
            Assert.That(forwarded.Headers.All("Authorization"), Is.EqualTo(new[] { gateway.Bearer(1) }));
        }

        Assert.That(await gateway.WaitForAccessLineAsync("POST /v1/messages", 200), Does.Contain("client=kids"));
    }
}
