using System.Text;
using System.Text.Json;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// Model lists (<c>/api/tags</c>, <c>/api/ps</c>, <c>/v1/models</c>) through the real proxy: a client with a model list
/// sees only its models, in a well-formed answer; a client without one gets the upstream's answer byte for byte
/// (README.md#several-clients-and-keys).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ModelListEndToEndTests
{
    private const string OllamaList = """
        {"models":[
          {"name":"gemma3:4b","model":"gemma3:4b","modified_at":"2025-01-01T12:00:00Z","size":3338801804,"details":{"family":"gemma3"}},
          {"name":"qwen3:8b","model":"qwen3:8b","modified_at":"2025-01-01T12:00:00Z","size":5225387923,"details":{"family":"qwen3"}},
          {"name":"gpt-oss:120b","model":"gpt-oss:120b","modified_at":"2025-01-01T12:00:00Z","size":65290815406,"details":{"family":"gptoss"}}
        ]}
        """;

    private const string OpenAiList = """
        {"object":"list","data":[{"id":"gemma3:4b","object":"model","created":1735732800,"owned_by":"library"},{"id":"qwen3:8b","object":"model","created":1735732800,"owned_by":"library"},{"id":"gpt-oss:120b","object":"model","created":1735732800,"owned_by":"library"}]}
        """;

    private static readonly string[] Allowed = ["gemma3:4b", "gpt-oss:120b"];

    [TestCase("/api/tags")]
    [TestCase("/api/ps")]
    [TestCase("/v1/models")]
    [TestCase("/tags")]
    public async Task RestrictedClient_SeesOnlyItsModelsInAWellFramedAnswer(string target)
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b", "gpt-oss:*"]);
        await using var gateway = await GatewayHarness.StartAsync(ModelListAsync, [kids]);
        var client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Get(kids, target));
        var response = await client.ReadResponseAsync();

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(response.Headers.Contains("Transfer-Encoding"), Is.False, response.Describe());
        Assert.That(response.Head.ContentLength, Is.EqualTo(response.Body.Length));
        AssertFiltered(response.Body, IsOpenAi(target));

        // Content-Length was right: the next answer on the connection starts exactly where it said.
        await client.SendAsync(gateway.Get(kids, "/api/version"));
        Assert.That((await client.ReadResponseAsync()).StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task HeadOfAFilteredList_SaysNoLengthOfTheUnfilteredOne_AnUnrestrictedClientGetsIt()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        var everything = new GatewayClient("laptop");
        var fullLength = Encoding.UTF8.GetByteCount(OllamaList);
        await using var gateway = await GatewayHarness.StartAsync(
            exchange => exchange.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {fullLength}\r\n\r\n"),
            [kids, everything]);
        var client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Get(kids, "/api/tags").Replace("GET ", "HEAD ", StringComparison.Ordinal));
        var filtered = await client.ReadResponseAsync("HEAD");
        await client.SendAsync(gateway.Get(everything, "/api/tags").Replace("GET ", "HEAD ", StringComparison.Ordinal));
        var unfiltered = await client.ReadResponseAsync("HEAD");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(filtered.StatusCode, Is.EqualTo(200), filtered.Describe());
            Assert.That(filtered.Headers.Contains("Content-Length"), Is.False, filtered.Describe());
            Assert.That(filtered.Headers.Contains("Content-Type"), Is.True, filtered.Describe());
            Assert.That(unfiltered.Head.ContentLength, Is.EqualTo(fullLength), unfiltered.Describe());
        }
    }

    [TestCase("/api/tags")]
    [TestCase("/v1/models")]
    public async Task ChunkedUpstreamList_IsFilteredAndSentWithContentLength(string target)
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b", "gpt-oss:*"]);
        await using var gateway = await GatewayHarness.StartAsync(
            exchange =>
            {
                var list = IsOpenAi(exchange.Request.Target) ? OpenAiList : OllamaList;
                return exchange.RespondChunkedAsync("application/json; charset=utf-8", [list[..10], list[10..150], list[150..]]);
            },
            [kids]);

        var response = await gateway.SendAsync(gateway.Get(kids, target));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(response.Headers.Contains("Transfer-Encoding"), Is.False, response.Describe());
        Assert.That(response.Head.ContentLength, Is.EqualTo(response.Body.Length));
        AssertFiltered(response.Body, IsOpenAi(target));
    }

    [Test]
    public async Task ListArrivingInManyReads_KeepsTheUpstreamHeadIntact()
    {
        // The rewritten answer's head is written after the whole body was read: reads that reuse the memory the head
        // came in must not show through it.
        var padding = new string('p', 4000);
        var list = $$"""
            {"models":[{"name":"gemma3:4b","model":"gemma3:4b","pad":"{{padding}}"},{"name":"qwen3:8b","model":"qwen3:8b","pad":"{{padding}}"},{"name":"gpt-oss:120b","model":"gpt-oss:120b","pad":"{{padding}}"}]}
            """;
        var kids = new GatewayClient("kids", models: ["gemma3:4b", "gpt-oss:*"]);
        await using var gateway = await GatewayHarness.StartAsync(
            async exchange =>
            {
                await exchange.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nX-Upstream: kept\r\nTransfer-Encoding: chunked\r\n\r\n");
                for (var start = 0; start < list.Length; start += 500)
                {
                    var piece = list[start..Math.Min(list.Length, start + 500)];
                    await exchange.WriteAsync($"{piece.Length:x}\r\n{piece}\r\n");
                }

                await exchange.WriteAsync("0\r\n\r\n");
            },
            [kids]);

        for (var i = 0; i < 5; i++)
        {
            var response = await gateway.SendAsync(gateway.Get(kids, "/api/tags"));

            Assert.That(response.Head.StatusLine, Is.EqualTo("HTTP/1.1 200 OK"), response.Describe());
            Assert.That(response.Headers["X-Upstream"], Is.EqualTo("kept"), response.Describe());
            Assert.That(response.Headers["Content-Type"], Is.EqualTo("application/json; charset=utf-8"), response.Describe());
            using var json = JsonDocument.Parse(response.Body);
            Assert.That(json.RootElement.GetProperty("models").EnumerateArray().Select(entry => entry.GetProperty("name").GetString()), Is.EqualTo(Allowed));
        }
    }

    [TestCase("/api/tags")]
    [TestCase("/api/ps")]
    [TestCase("/v1/models")]
    public async Task UnrestrictedClient_GetsTheUpstreamListByteForByte(string target)
    {
        var laptop = new GatewayClient("laptop");
        await using var gateway = await GatewayHarness.StartAsync(ModelListAsync, [laptop]);

        var response = await gateway.SendAsync(gateway.Get(laptop, target, "Accept-Encoding: gzip, br\r\n"));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(response.RawBody, Is.EqualTo(Encoding.UTF8.GetBytes(IsOpenAi(target) ? OpenAiList : OllamaList)));
        Assert.That(gateway.Origin.Requests.Single().Headers.All("Accept-Encoding"), Is.EqualTo(new[] { "gzip, br" }));
    }

    [Test]
    public async Task RestrictedClientList_IsAskedForWithoutContentCoding()
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(ModelListAsync, [kids]);

        var response = await gateway.SendAsync(gateway.Get(kids, "/api/tags", "Accept-Encoding: gzip, br\r\n"));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(gateway.Origin.Requests.Single().Headers.All("Accept-Encoding"), Is.EqualTo(new[] { "identity" }));
    }

    [TestCase("text/html", "<html><body>Bad gateway</body></html>")]
    [TestCase("application/json", """{"models":[{"name":"gemma3:4b"}""")]
    [TestCase("application/json", """[{"name":"gemma3:4b"}]""")]
    public async Task UpstreamListThatIsNotAJsonObject_Gets502(string contentType, string body)
    {
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        await using var gateway = await GatewayHarness.StartAsync(exchange => exchange.RespondAsync(200, contentType, body), [kids]);

        var response = await gateway.SendAsync(gateway.Get(kids, "/api/tags"));

        ProxyAssert.IsJsonError(response, 502);
        Assert.That(response.BodyText, Does.Not.Contain("gemma3"));
    }

    private static bool IsOpenAi(string target) => target.StartsWith("/v1/", StringComparison.Ordinal);

    private static Task ModelListAsync(UpstreamExchange exchange) =>
        IsOpenAi(exchange.Request.Target)
            ? exchange.RespondAsync(200, "application/json", OpenAiList)
            : exchange.RespondAsync(200, "application/json; charset=utf-8", OllamaList);

    /// <summary>Valid JSON holding the allowed entries, each exactly as the upstream wrote it, and the other properties.</summary>
    private static void AssertFiltered(byte[] body, bool openAi)
    {
        using var filtered = JsonDocument.Parse(body);
        using var original = JsonDocument.Parse(openAi ? OpenAiList : OllamaList);
        var listName = openAi ? "data" : "models";
        var nameField = openAi ? "id" : "name";
        var kept = filtered.RootElement.GetProperty(listName).EnumerateArray().ToList();
        var expected = original.RootElement.GetProperty(listName).EnumerateArray()
            .Where(entry => Allowed.Contains(entry.GetProperty(nameField).GetString()))
            .Select(entry => entry.GetRawText());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(kept.Select(entry => entry.GetProperty(nameField).GetString()), Is.EqualTo(Allowed));
            Assert.That(kept.Select(entry => entry.GetRawText()), Is.EqualTo(expected));
            if (openAi)
            {
                Assert.That(filtered.RootElement.GetProperty("object").GetString(), Is.EqualTo("list"));
            }
        }
    }
}
