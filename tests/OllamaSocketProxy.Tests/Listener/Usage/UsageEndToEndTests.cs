using System.Text;
using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Infrastructure;
using OllamaSocketProxy.Tests.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>
/// Usage counted through the real proxy into a real SQLite file (README.md#usage-and-metrics): the answer reaches the
/// client byte for byte while its token counts are read; the row names client, model, key and route; the proxy's
/// stop writes the last flush; a second run adds to the same file.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class UsageEndToEndTests
{
    private const string Model = "gpt-oss:20b";

    private static IEnumerable<TestCaseData> Samples() =>
        UsageSamples.All.Select(sample => new TestCaseData(sample).SetArgDisplayNames(sample.Name));

    [TestCaseSource(nameof(Samples))]
    public async Task Answer_IsRelayedByteForByteAndItsTokensCounted(UsageSample sample)
    {
        using var folder = new TemporaryFolder();
        var database = folder.File("usage.db");
        var (route, contentType) = RouteOf(sample.Format);
        var streamed = sample.Format is UsageFormat.OllamaJsonLines or UsageFormat.OpenAiEventStream or UsageFormat.AnthropicEventStream;

        RawResponse response;
        string keyLabel;
        await using (var gateway = await GatewayHarness.StartAsync(
            exchange => streamed
                ? RespondInThreeChunksAsync(exchange, contentType, Encoding.UTF8.GetBytes(sample.Body))
                : exchange.RespondAsync(200, contentType, sample.Body),
            [],
            variables: Variables(database)))
        {
            response = await gateway.SendAsync(gateway.Post(null, route, $$"""{"model":"{{Model}}","stream":{{(streamed ? "true" : "false")}}}"""));
            keyLabel = gateway.KeyLabel(1);
        }

        var row = UsageFixtures.Query(database, UsageGrouping.Client | UsageGrouping.Model | UsageGrouping.Key | UsageGrouping.Route | UsageGrouping.Status).Rows.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            Assert.That(Encoding.UTF8.GetString(response.Body), Is.EqualTo(sample.Body));
            Assert.That((row.Client, row.Model, row.Key, row.Route, row.Status), Is.EqualTo(("default", Model, keyLabel, route, "2xx")));
            Assert.That(row.Requests, Is.EqualTo(1));
            Assert.That((row.PromptTokens, row.CompletionTokens), Is.EqualTo((sample.Prompt ?? 0, sample.Completion ?? 0)));
            Assert.That(row.UnknownTokenRequests, Is.EqualTo(sample.Prompt is null && sample.Completion is null ? 1 : 0));
        }
    }

    [Test]
    public async Task CompressedAnswerWanted_TheUpstreamIsAskedForIdentityOnTokenRoutesOnly()
    {
        using var folder = new TemporaryFolder();
        await using var gateway = await GatewayHarness.StartAsync(
            exchange => exchange.RespondAsync(200, "application/json", UsageSamples.OllamaChatAnswer.Body), [], variables: Variables(folder.File("usage.db")));

        await gateway.SendAsync(gateway.Post(null, "/api/chat", $$"""{"model":"{{Model}}"}""", "Accept-Encoding: gzip\r\n"));
        await gateway.SendAsync(gateway.Get(null, "/api/tags", "Accept-Encoding: gzip\r\n"));

        var sent = gateway.Origin.Requests;
        Assert.That(sent.Select(request => request.Headers["Accept-Encoding"]), Is.EqualTo(new[] { "identity", "gzip" }));
    }

    [Test]
    public async Task MadeUpModel_IsCountedAsOther_AModelTheUpstreamServedByItsName()
    {
        using var folder = new TemporaryFolder();
        var database = folder.File("usage.db");
        await using (var gateway = await GatewayHarness.StartAsync(
            exchange => exchange.Request.BodyText.Contains(Model, StringComparison.Ordinal)
                ? exchange.RespondAsync(200, "application/json", UsageSamples.OllamaChatAnswer.Body)
                : exchange.RespondAsync(404, "application/json", """{"error":"model 'x' not found"}"""),
            [],
            variables: Variables(database)))
        {
            foreach (var model in new[] { "made-up-1", "made-up-2", Model, "made-up-3" })
            {
                var response = await gateway.SendAsync(gateway.Post(null, "/api/chat", $$"""{"model":"{{model}}"}"""));
                Assert.That(response.StatusCode, Is.EqualTo(model == Model ? 200 : 404), response.Describe());
            }
        }

        var rows = UsageFixtures.Query(database, UsageGrouping.Model | UsageGrouping.Status).Rows;
        Assert.That(rows.Select(row => (row.Model, row.Status, row.Requests)), Is.EquivalentTo(new[] { (Model, "2xx", 1L), ("other", "4xx", 3L) }));
    }

    [Test]
    public async Task RequestWithoutAModel_AndAProxyRefusal_AreCountedToo()
    {
        using var folder = new TemporaryFolder();
        var database = folder.File("usage.db");
        var laptop = new GatewayClient("laptop", ["gemma3"]);
        string keyLabel;
        await using (var gateway = await GatewayHarness.StartAsync(
            exchange => exchange.RespondAsync(200, "application/json", """{"version":"0.12.0"}"""), [laptop], variables: Variables(database)))
        {
            Assert.That((await gateway.SendAsync(gateway.Get(laptop, "/api/version"))).StatusCode, Is.EqualTo(200));
            Assert.That((await gateway.SendAsync(gateway.Post(laptop, "/api/chat", $$"""{"model":"{{Model}}"}"""))).StatusCode, Is.EqualTo(403));
            keyLabel = gateway.KeyLabel(1);
        }

        var rows = UsageFixtures.Query(database, UsageGrouping.Client | UsageGrouping.Model | UsageGrouping.Route | UsageGrouping.Status | UsageGrouping.Key).Rows;
        Assert.That(rows.Select(row => (row.Client, row.Model, row.Route, row.Status, row.Key)), Is.EquivalentTo(new[]
        {
            ("laptop", "-", "/api/version", "2xx", keyLabel),
            ("laptop", "other", "/api/chat", "4xx", "-"),
        }));
    }

    [Test]
    public async Task ModelAddedToAListByAReload_IsCountedByItsName()
    {
        using var folder = new TemporaryFolder();
        var database = folder.File("usage.db");
        const string Added = "phi4:14b";
        await using (var gateway = await GatewayHarness.StartAsync(
            exchange => exchange.RespondAsync(404, "application/json", """{"error":"model not found"}"""),
            [new GatewayClient("laptop", ["gemma3:4b"])],
            variables: Variables(database)))
        {
            var reloaded = new GatewayClient("laptop", ["gemma3:4b", Added]);
            await gateway.RewriteClientsAsync([reloaded]);
            var response = await gateway.SendAsync(gateway.Post(reloaded, "/api/chat", $$"""{"model":"{{Added}}"}"""));
            Assert.That(response.StatusCode, Is.EqualTo(404), response.Describe());
        }

        Assert.That(UsageFixtures.Query(database, UsageGrouping.Model).Rows.Select(row => row.Model), Is.EqualTo(new[] { Added }));
    }

    /// <summary>
    /// A connection remembers its last target's route: each request on it is still counted under its own, also when
    /// only the mapped prefix differs, and when the target is too long to remember.
    /// </summary>
    [Test]
    public async Task RequestsOnOneConnection_AreEachCountedUnderTheirOwnRoute()
    {
        using var folder = new TemporaryFolder();
        var database = folder.File("usage.db");
        await using (var gateway = await GatewayHarness.StartAsync(
            exchange => exchange.Request.Target.StartsWith("/v1/", StringComparison.Ordinal)
                ? exchange.RespondAsync(200, "application/json", UsageSamples.OpenAiChatAnswer.Body)
                : exchange.RespondAsync(200, "application/json", UsageSamples.OllamaChatAnswer.Body),
            [],
            variables: Variables(database)))
        {
            var connection = await gateway.ConnectAsync();
            var model = $$"""{"model":"{{Model}}"}""";
            var chat = gateway.Post(null, "/api/chat", model);
            foreach (var request in new[]
            {
                chat,
                gateway.Post(null, "/v1/chat/completions", model),
                gateway.Post(null, "/api/v1/chat/completions", model), // the same path after another prefix: no route
                chat,
                gateway.Post(null, "/chat", model), // /api/chat once mapped
                gateway.Get(null, "/api/tags"),
                gateway.Post(null, $"/api/chat?trace={new string('x', 80)}", model), // longer than the memory holds
                gateway.Post(null, $"/api{new string('/', 80)}chat", model), // two long paths alike in what it would hold
                gateway.Get(null, $"/api{new string('/', 80)}tags"),
                gateway.Post(null, "/api/generate", model),
                chat,
            })
            {
                await connection.SendAsync(request);
                var response = await connection.ReadResponseAsync(request[..request.IndexOf(' ', StringComparison.Ordinal)]);
                Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            }
        }

        var (ollama, openAi) = (UsageSamples.OllamaChatAnswer.Prompt!.Value, UsageSamples.OpenAiChatAnswer.Prompt!.Value);
        var rows = UsageFixtures.Query(database, UsageGrouping.Route | UsageGrouping.Model).Rows;
        Assert.That(rows.Select(row => (row.Route, row.Model, row.Requests, row.PromptTokens)), Is.EquivalentTo(new[]
        {
            ("/api/chat", Model, 6L, 6 * ollama),
            ("/v1/chat/completions", Model, 1L, openAi),
            ("other", "-", 1L, 0L), // a route the gateway does not know names no model
            ("/api/tags", "-", 2L, 0L),
            ("/api/generate", Model, 1L, ollama),
        }));
    }

    [Test]
    public async Task SecondRunOnTheSameFile_AddsToTheRowsOfTheFirst()
    {
        using var folder = new TemporaryFolder();
        var database = folder.File("usage.db");
        for (var run = 0; run < 2; run++)
        {
            await using var gateway = await GatewayHarness.StartAsync(
                exchange => exchange.RespondAsync(200, "application/json", UsageSamples.OllamaChatAnswer.Body), [], variables: Variables(database));
            var response = await gateway.SendAsync(gateway.Post(null, "/api/chat", $$"""{"model":"{{Model}}"}"""));
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        }

        var total = UsageFixtures.Query(database).Total;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(total.Requests, Is.EqualTo(2));
            Assert.That(total.PromptTokens, Is.EqualTo(2 * UsageSamples.OllamaChatAnswer.Prompt));
            Assert.That(total.CompletionTokens, Is.EqualTo(2 * UsageSamples.OllamaChatAnswer.Completion));
        }
    }

    [Test]
    public async Task CorruptDatabase_NeverStopsARequest_AndIsLoggedOnce()
    {
        using var folder = new TemporaryFolder();
        var database = folder.File("usage.db");
        var garbage = new byte[8192];
        new Random(7).NextBytes(garbage);
        await File.WriteAllBytesAsync(database, garbage);

        await using var gateway = await GatewayHarness.StartAsync(
            exchange => exchange.RespondAsync(200, "application/json", UsageSamples.OllamaChatAnswer.Body), [], variables: Variables(database));
        for (var i = 0; i < 3; i++)
        {
            var response = await gateway.SendAsync(gateway.Post(null, "/api/chat", $$"""{"model":"{{Model}}"}"""));
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        }

        await gateway.Logs.WaitForLineAsync(line => line.Contains("failing", StringComparison.Ordinal));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(gateway.Logs.Lines.Count(line => line.Contains("Usage database", StringComparison.Ordinal) && line.Contains("failing", StringComparison.Ordinal)),
                Is.EqualTo(1), string.Join("\n", gateway.Logs.Lines));
            Assert.That(await File.ReadAllBytesAsync(database), Is.EqualTo(garbage), "a corrupt file is never overwritten");
        }
    }

    private static Dictionary<string, string?> Variables(string database) => new() { ["PROXY_USAGE_DB"] = database };

    private static (string Route, string ContentType) RouteOf(UsageFormat format) => format switch
    {
        UsageFormat.OllamaJson => ("/api/chat", "application/json; charset=utf-8"),
        UsageFormat.OllamaJsonLines => ("/api/chat", "application/x-ndjson"),
        UsageFormat.OpenAiJson => ("/v1/chat/completions", "application/json"),
        UsageFormat.OpenAiEventStream => ("/v1/chat/completions", "text/event-stream"),
        UsageFormat.AnthropicJson => ("/v1/messages", "application/json"),
        UsageFormat.AnthropicEventStream => ("/v1/messages", "text/event-stream; charset=utf-8"),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    /// <summary>The body in three chunks whose borders fall inside lines (and characters), as a stream's reads do.</summary>
    private static async Task RespondInThreeChunksAsync(UpstreamExchange exchange, string contentType, byte[] body)
    {
        await exchange.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: {contentType}\r\nTransfer-Encoding: chunked\r\n\r\n");
        var third = Math.Max(1, body.Length / 3);
        foreach (var (start, end) in new[] { (0, third), (third, 2 * third), (2 * third, body.Length) })
        {
            await exchange.WriteAsync([.. Encoding.ASCII.GetBytes($"{end - start:x}\r\n"), .. body[start..end], (byte)'\r', (byte)'\n']);
        }

        await exchange.WriteAsync("0\r\n\r\n");
    }
}
