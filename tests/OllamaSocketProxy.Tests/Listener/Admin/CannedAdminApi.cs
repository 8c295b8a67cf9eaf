using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Admin;

/// <summary>
/// Stands in for the admin listener inside the browser: <c>http://admin.test/</c> answers with the embedded page and
/// its Content-Security-Policy, <c>status</c> and <c>usage</c> with canned JSON that a test may change at any time.
/// Nothing listens on a socket; the browser's requests never leave it.
/// </summary>
internal sealed class CannedAdminApi
{
    public const string Origin = "http://admin.test";

    private static readonly Lazy<string> PageHtml = new(Dashboard.Html);

    /// <summary>The <c>status</c> answer's status code; 200 answers <see cref="Status"/>.</summary>
    public int StatusCode { get; set; } = 200;

    /// <summary>The <c>usage</c> answer's status code; 200 answers from <see cref="Usage"/>, 404 says the database is off.</summary>
    public int UsageCode { get; set; } = 200;

    public JsonObject Status { get; set; } = StatusJson();

    public CannedUsage Usage { get; set; } = CannedUsage.Day();

    /// <summary>Every <c>usage</c> query the page asked, as <c>since=...&amp;by=...</c>.</summary>
    public ConcurrentQueue<string> UsageQueries { get; } = new();

    /// <summary>A <c>status</c> answer like the listener's, with two keys: one up, one benched until 07:00 UTC.</summary>
    public static JsonObject StatusJson(int inFlight = 2, string firstKey = "key#1 (…abcd)") => new()
    {
        ["now"] = "2026-12-06T06:30:00Z",
        ["started"] = "2026-12-06T05:00:00Z",
        ["ready"] = true,
        ["requests_in_flight"] = inFlight,
        ["client_connections"] = 5,
        ["upstream_connections"] = new JsonObject { ["idle"] = 1, ["busy"] = 2 },
        ["usage_db"] = "ok",
        ["keys"] = new JsonArray(
            new JsonObject { ["key"] = firstKey, ["state"] = "up", ["benched_until"] = null, ["rate_limited"] = 3 },
            new JsonObject { ["key"] = "key#2 (…wxyz)", ["state"] = "benched", ["benched_until"] = "2026-12-06T07:00:00Z", ["rate_limited"] = 1 }),
    };

    /// <summary>A page <paramref name="width"/> pixels wide showing the dashboard, once it shows the first status.</summary>
    public async Task<BrowserPage> OpenAsync(int width = 1280, int height = 900, BrowserNewContextOptions? options = null)
    {
        var browser = await BrowserPage.OpenAsync(width, height, options);
        try
        {
            await browser.Page.RouteAsync(Origin + "/**", AnswerAsync);
            await browser.Page.GotoAsync(Origin + "/");
            await Assertions.Expect(browser.Page.GetByTestId("updated")).Not.ToBeEmptyAsync();
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    private async Task AnswerAsync(IRoute route)
    {
        var url = new Uri(route.Request.Url);
        switch (url.AbsolutePath)
        {
            case "/":
                await route.FulfillAsync(new RouteFulfillOptions
                {
                    Status = 200,
                    Headers = new Dictionary<string, string>
                    {
                        ["Content-Type"] = "text/html; charset=utf-8",
                        ["Content-Security-Policy"] = Dashboard.ContentSecurityPolicy,
                    },
                    Body = PageHtml.Value,
                });
                break;
            case "/status":
                await JsonAsync(route, StatusCode, StatusCode == 200 ? Status.ToJsonString() : """{"error":"canned failure"}""");
                break;
            case "/usage":
                var query = Query(url);
                UsageQueries.Enqueue($"since={query.GetValueOrDefault("since")}&by={query.GetValueOrDefault("by")}");
                var body = UsageCode switch
                {
                    200 => Usage.Answer(query["since"], query["by"]),
                    404 => """{"error":"the usage database is off (PROXY_USAGE_DB=off)"}""",
                    _ => """{"error":"canned failure"}""",
                };
                await JsonAsync(route, UsageCode, body);
                break;
            default:
                await route.FulfillAsync(new RouteFulfillOptions { Status = 404 });
                break;
        }
    }

    private static Task JsonAsync(IRoute route, int status, string body) =>
        route.FulfillAsync(new RouteFulfillOptions { Status = status, ContentType = "application/json", Body = body });

    private static Dictionary<string, string> Query(Uri url) =>
        url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => Uri.UnescapeDataString(pair[0]), pair => pair.Length > 1 ? Uri.UnescapeDataString(pair[1]) : "");
}
