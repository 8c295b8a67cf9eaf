using System.Text;
using Microsoft.Playwright;
using OllamaSocketProxy.Tests.Infrastructure;
using OllamaSocketProxy.Tests.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Admin;

/// <summary>
/// The dashboard of a real proxy in a real browser (README.md#usage-and-metrics): requests made through the proxy by
/// three clients, on two keys of which one gets rate limited, show up on the page the admin listener serves behind
/// its token, read through the browser's own Basic login. The screenshot is the README's picture.
/// </summary>
[Parallelizable(ParallelScope.Self)]
public sealed class DashboardEndToEndTests
{
    private const string AdminToken = "admin-token-for-the-dashboard-test";

    private const string SessionLimit =
        """{"error":"you (x) have reached your session usage limit, upgrade for higher limits: https://ollama.com/upgrade"}""";

    [Test]
    public async Task RequestsThroughTheProxy_AppearOnTheDashboard()
    {
        using var folder = new TemporaryFolder();
        var openWebUi = new GatewayClient("open-webui", models: ["gpt-oss:*"]);
        var laptop = new GatewayClient("laptop");
        var kids = new GatewayClient("kids", models: ["gemma3:4b"]);
        var keys = $"sk-one-{Guid.NewGuid():N},sk-two-{Guid.NewGuid():N}";
        var secondKey = keys.Split(',')[1];
        await using var gateway = await GatewayHarness.StartAsync(
            exchange => AnswerAsync(exchange, secondKey),
            [openWebUi, laptop, kids],
            apiKeys: keys,
            variables: new Dictionary<string, string?>
            {
                ["PROXY_ADMIN_LISTEN"] = "127.0.0.1:0",
                ["PROXY_ADMIN_TOKEN"] = AdminToken,
                ["PROXY_USAGE_DB"] = folder.File("usage.db"),
            });

        var sent = new (GatewayClient Client, string Route, string Model, int Status)[]
        {
            (openWebUi, "/v1/chat/completions", "gpt-oss:120b", 200),
            (openWebUi, "/v1/chat/completions", "gpt-oss:120b", 200),
            (openWebUi, "/v1/chat/completions", "gpt-oss:20b", 200),
            (laptop, "/api/chat", "qwen3-coder:480b", 200),
            (laptop, "/api/generate", "qwen3-coder:480b", 200),
            (kids, "/api/chat", "gemma3:4b", 200),
            (kids, "/api/chat", "gpt-oss:120b", 403),
        };
        foreach (var (client, route, model, status) in sent)
        {
            var response = await gateway.SendAsync(gateway.Post(client, route, $$"""{"model":"{{model}}","stream":false}"""));
            Assert.That(response.StatusCode, Is.EqualTo(status), response.Describe());
        }

        // A request is counted as it ends, just after its answer has reached the client: the last one may not have ended yet.
        await gateway.Proxy.WaitForServerAsync(server => server.CountRequests().InFlight == 0);
        Assert.That(await gateway.Proxy.Server.FlushUsageAsync(), Is.True, "the usage is in the database");
        var admin = gateway.Proxy.Server.AdminEndPoint!;
        await using var browser = await Dashboard.OpenAsync(
            new Uri($"http://127.0.0.1:{admin.Port}/"),
            new BrowserNewContextOptions { HttpCredentials = new HttpCredentials { Username = "admin", Password = AdminToken } });
        var page = browser.Page;

        var openWebUiRow = page.GetByTestId("totals-row").Filter(new() { HasText = "open-webui" }).Filter(new() { HasText = "gpt-oss:120b" });
        await Assertions.Expect(openWebUiRow).ToHaveCountAsync(1);
        await Assertions.Expect(openWebUiRow.Locator("td").Nth(2)).ToHaveTextAsync("2");
        await Assertions.Expect(page.GetByTestId("totals-row").Filter(new() { HasText = "laptop" })).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByTestId("totals-row").Filter(new() { HasText = "kids" })).ToHaveCountAsync(2);
        await Assertions.Expect(page.GetByTestId("key-row")).ToHaveCountAsync(2);
        await Assertions.Expect(page.GetByTestId("key-row").Filter(new() { HasText = "benched" })).ToHaveCountAsync(1);
        await Assertions.Expect(page.GetByTestId("ready")).ToContainTextAsync("ready");
        await Assertions.Expect(page.GetByTestId("usage-db")).ToHaveTextAsync("ok");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await browser.ProblemsAsync(), Is.Empty, "console errors, script errors or CSP violations");
            Assert.That(browser.Dialogs, Is.Empty);
            Assert.That(await page.ContentAsync(), Does.Not.Contain(secondKey).And.Not.Contain(AdminToken));
        }

        await browser.ScreenshotAsync("dashboard.png");
    }

    /// <summary>
    /// Answers as Ollama Cloud does, with token counts; the second key's first request is refused with a session
    /// limit, so it is benched and the request goes on with the first.
    /// </summary>
    private static Task AnswerAsync(UpstreamExchange exchange, string secondKey)
    {
        if (exchange.Request.Headers["Authorization"] == $"Bearer {secondKey}")
        {
            return exchange.RespondAsync(429, "application/json", SessionLimit);
        }

        var prompt = 40 + (exchange.Request.BodyText.Length * 7 % 300);
        var completion = 120 + (exchange.Request.BodyText.Length * 13 % 900);
        var body = exchange.Request.Target.StartsWith("/v1/", StringComparison.Ordinal)
            ? $$$"""{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":{{{prompt}}},"completion_tokens":{{{completion}}},"total_tokens":{{{prompt + completion}}}}}"""
            : $$"""{"model":"m","created_at":"2026-12-06T06:00:00Z","message":{"role":"assistant","content":"ok"},"done":true,"prompt_eval_count":{{prompt}},"eval_count":{{completion}}}""";
        return exchange.RespondAsync(200, "application/json; charset=utf-8", body);
    }
}
