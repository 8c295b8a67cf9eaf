using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// A client's model list through the real proxy (README.md#several-clients-and-keys): the top-level <c>"model"</c> of
/// the body decides, the body goes upstream byte for byte, and a refusal sends nothing upstream.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ModelPolicyEndToEndTests
{
    [Test]
    public async Task AllowedModel_IsForwardedByteForByte()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        // Spacing, key order, an escape and a nested "model" that a re-serialization would change or trip on.
        const string Body = "{ \"messages\" : [ {\"role\":\"user\",\"content\":\"say \\\"hi\\\"\",\"model\":\"other\"} ],\n  \"model\":\"gemma3:4b\" ,\"stream\":false }";
        var response = await gateway.SendAsync(gateway.Post(kids, "/api/chat", Body));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var forwarded = gateway.Origin.Requests.Single();
        Assert.That(forwarded.RawBody, Is.EqualTo(Encoding.UTF8.GetBytes(Body)));
        Assert.That(forwarded.Headers["Content-Length"], Is.EqualTo(Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Test]
    public async Task ModelOutsideTheList_Gets403NamingModelAndClientAndNothingReachesUpstream()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        var response = await gateway.SendAsync(gateway.Post(kids, "/api/chat", """{"model":"x","messages":[]}"""));

        ProxyAssert.IsJsonError(response, 403);
        Assert.That(response.BodyText, Is.EqualTo("""{"error":"model \"x\" is not allowed for client \"kids\""}"""));
        await gateway.AssertNothingElseReachedUpstreamAsync(kids);
    }

    [TestCase("""{"messages":[]}""")]
    [TestCase("""{"prompt":"hi","options":{"model":"gemma3:4b"}}""")]
    [TestCase("""[{"model":"gemma3:4b"}]""")]
    [TestCase("")]
    public async Task BodyWithoutTopLevelModel_Gets400AndNothingReachesUpstream(string body)
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        var response = await gateway.SendAsync(gateway.Post(kids, "/api/generate", body));

        ProxyAssert.IsJsonError(response, 400);
        await gateway.AssertNothingElseReachedUpstreamAsync(kids);
    }

    [TestCase("gpt-oss:120b", 200)]
    [TestCase("gpt-oss:20b", 200)]
    [TestCase("GPT-OSS:20B", 200)]
    [TestCase("qwen3-coder:480b", 200)]
    [TestCase("gpt-oss", 200)]
    [TestCase("qwen3-coder", 403)]
    [TestCase("gpt-oss-safeguard:20b", 403)]
    [TestCase("qwen3-coder:30b", 403)]
    public async Task GlobAndExactPatterns_DecideWhichModelsPass(string model, int status)
    {
        var webui = new GatewayClient("open-webui", models: ["gpt-oss:*", "qwen3-coder:480b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [webui]);

        var response = await gateway.SendAsync(gateway.Post(webui, "/api/chat", $$"""{"model":"{{model}}","messages":[]}"""));

        Assert.That(response.StatusCode, Is.EqualTo(status), response.Describe());
        Assert.That(gateway.Origin.Requests, Has.Count.EqualTo(status == 200 ? 1 : 0));
    }

    [TestCase("/v1/chat/completions")]
    [TestCase("/v1/messages")]
    [TestCase("/v1/embeddings")]
    [TestCase("/api/embed")]
    [TestCase("/chat")]
    public async Task OtherModelRoutes_AreCheckedToo(string target)
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        var allowed = await gateway.SendAsync(gateway.Post(kids, target, """{"model":"gemma3:4b","messages":[]}"""));
        var refused = await gateway.SendAsync(gateway.Post(kids, target, """{"model":"gpt-oss:120b","messages":[]}"""));

        Assert.That(allowed.StatusCode, Is.EqualTo(200), allowed.Describe());
        ProxyAssert.IsJsonError(refused, 403);
        Assert.That(refused.JsonError, Is.EqualTo("model \"gpt-oss:120b\" is not allowed for client \"kids\""));
        Assert.That(gateway.Origin.Requests.Single().BodyText, Does.Contain("gemma3:4b"));
    }

    [TestCase("gemma3:4b", 200)]
    [TestCase("gpt-oss:120b", 403)]
    public async Task ModelInThePath_IsCheckedToo(string model, int status)
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);

        var response = await gateway.SendAsync(gateway.Get(kids, $"/v1/models/{model}"));

        Assert.That(response.StatusCode, Is.EqualTo(status), response.Describe());
        Assert.That(gateway.Origin.Requests, Has.Count.EqualTo(status == 200 ? 1 : 0));
    }

    [TestCase("POST", "/api/pull")]
    [TestCase("DELETE", "/api/delete")]
    [TestCase("POST", "/api/copy")]
    public async Task ManageRoute_ClientWithoutManageGets403AndNothingReachesUpstream(string method, string target)
    {
        // The model is one the client may use: the route, not the model, is refused.
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        var laptop = new GatewayClient("laptop");
        await using var gateway = await GatewayHarness.StartAsync(null, [kids, laptop]);

        var fromKids = await gateway.SendAsync(ManageRequest(gateway, kids, method, target));
        var fromLaptop = await gateway.SendAsync(ManageRequest(gateway, laptop, method, target));

        ProxyAssert.IsJsonError(fromKids, 403);
        Assert.That(fromKids.JsonError, Is.EqualTo("client \"kids\" may not manage models"));
        ProxyAssert.IsJsonError(fromLaptop, 403);
        Assert.That(fromLaptop.JsonError, Is.EqualTo("client \"laptop\" may not manage models"));
        await gateway.AssertNothingElseReachedUpstreamAsync(kids);
    }

    [TestCase("POST", "/api/pull")]
    [TestCase("DELETE", "/api/delete")]
    public async Task ManageRoute_ClientWithManageIsForwarded(string method, string target)
    {
        var admin = new GatewayClient("admin", models: ["gemma3:4b"], manage: true);
        await using var gateway = await GatewayHarness.StartAsync(null, [admin]);

        var response = await gateway.SendAsync(ManageRequest(gateway, admin, method, target));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(gateway.Origin.Requests.Single().RequestLine, Is.EqualTo($"{method} {target} HTTP/1.1"));
    }

    [TestCase("gemma3:4b", 200)]
    [TestCase("gpt-oss:120b", 403)]
    public async Task ExpectContinueFromRestrictedClient_Gets100ThenItsBodyIsChecked(string model, int status)
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);
        var body = $$"""{"model":"{{model}}","messages":[]}""";
        var client = await gateway.ConnectAsync();

        // As curl does: the head alone, then the body once 100 Continue has come.
        await client.SendAsync(
            $"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{kids.AuthorizationField}Content-Length: {body.Length}\r\nExpect: 100-continue\r\n\r\n");
        var interim = await client.ReadHeadAsync();
        await client.SendAsync(body);
        var response = await client.ReadResponseAsync("POST");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(interim.StatusCode, Is.EqualTo(100), interim.Text);
            Assert.That(response.StatusCode, Is.EqualTo(status), response.Describe());
            Assert.That(response.Interim, Is.Empty, "one 100 Continue only");
        }

        if (status == 200)
        {
            Assert.That(gateway.Origin.Requests.Single().BodyText, Is.EqualTo(body));
            Assert.That(gateway.Origin.Requests.Single().Headers.Contains("Expect"), Is.False);
        }
        else
        {
            await gateway.AssertNothingElseReachedUpstreamAsync(kids);
        }
    }

    [Test]
    public async Task ChunkedBodyFromRestrictedClient_Gets411AndNothingReachesUpstream()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids]);
        const string Body = """{"model":"gemma3:4b","messages":[]}""";

        var response = await gateway.SendAsync(
            $"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{kids.AuthorizationField}Transfer-Encoding: chunked\r\n\r\n{Body.Length:x}\r\n{Body}\r\n0\r\n\r\n");

        ProxyAssert.IsJsonError(response, 411);
        await gateway.AssertNothingElseReachedUpstreamAsync(kids);
    }

    [Test]
    public async Task UnrestrictedClient_IsNotCheckedForModelBodyOrFraming()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        var laptop = new GatewayClient("laptop");
        await using var gateway = await GatewayHarness.StartAsync(null, [kids, laptop]);
        const string Chunked = """{"model":"gpt-oss:120b","messages":[]}""";

        var otherModel = await gateway.SendAsync(gateway.Post(laptop, "/api/chat", """{"model":"gpt-oss:120b","messages":[]}"""));
        var noModel = await gateway.SendAsync(gateway.Post(laptop, "/api/generate", """{"prompt":"hi"}"""));
        var chunked = await gateway.SendAsync(
            $"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{laptop.AuthorizationField}Transfer-Encoding: chunked\r\n\r\n{Chunked.Length:x}\r\n{Chunked}\r\n0\r\n\r\n");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(otherModel.StatusCode, Is.EqualTo(200), otherModel.Describe());
            Assert.That(noModel.StatusCode, Is.EqualTo(200), noModel.Describe());
            Assert.That(chunked.StatusCode, Is.EqualTo(200), chunked.Describe());
            Assert.That(gateway.Origin.Requests.Select(request => request.BodyText),
                Is.EqualTo(new[] { """{"model":"gpt-oss:120b","messages":[]}""", """{"prompt":"hi"}""", Chunked }));
        }
    }

    private static string ManageRequest(GatewayHarness gateway, GatewayClient client, string method, string target)
    {
        var body = target == "/api/copy" ? """{"source":"gemma3:4b","destination":"gemma3:mine"}""" : """{"model":"gemma3:4b"}""";
        return gateway.Post(client, target, body).Replace("POST ", $"{method} ", StringComparison.Ordinal);
    }
}
