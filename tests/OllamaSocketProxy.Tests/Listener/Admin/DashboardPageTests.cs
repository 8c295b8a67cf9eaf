using System.Globalization;
using Microsoft.Playwright;
using OllamaSocketProxy.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace OllamaSocketProxy.Tests.Listener.Admin;

/// <summary>
/// The dashboard page (src/Listener/Admin/dashboard.html) in headless Chromium, as the binary embeds it and under the
/// admin listener's Content-Security-Policy, fed canned <c>status</c> and <c>usage</c> answers (<see cref="CannedAdminApi"/>).
/// The page polls status every 2 s and usage every 10 s; the tests wait for what it shows, not for time.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class DashboardPageTests
{
    private const string Markup = "<img src=x onerror=alert(1)>";

    [Test]
    public async Task Status_ShowsInHeader()
    {
        await using var browser = await new CannedAdminApi().OpenAsync();
        var page = browser.Page;

        await Expect(page.GetByTestId("ready")).ToHaveTextAsync("ready");
        await Expect(page.GetByTestId("in-flight")).ToHaveTextAsync("2");
        await Expect(page.GetByTestId("client-connections")).ToHaveTextAsync("5");
        await Expect(page.GetByTestId("upstream-idle")).ToHaveTextAsync("1");
        await Expect(page.GetByTestId("upstream-busy")).ToHaveTextAsync("2");
        await Expect(page.GetByTestId("usage-db")).ToHaveTextAsync("ok");
        await Expect(page.GetByTestId("error")).ToBeHiddenAsync();
    }

    [Test]
    public async Task Keys_ShowStateAndBenchedUntilInLocalTime()
    {
        await using var browser = await new CannedAdminApi().OpenAsync();
        var rows = browser.Page.GetByTestId("key-row");

        await Expect(rows).ToHaveCountAsync(2);
        await Expect(rows.Nth(0)).ToContainTextAsync("key#1 (…abcd)");
        await Expect(rows.Nth(0).Locator(".badge")).ToHaveTextAsync("up");
        await Expect(rows.Nth(0).Locator("td").Nth(3)).ToHaveTextAsync("3");
        await Expect(rows.Nth(1).Locator(".badge")).ToHaveTextAsync("benched");
        // 07:00 UTC (the page's time zone here), 30 minutes after the server's "now".
        await Expect(rows.Nth(1).Locator("td").Nth(2)).ToHaveTextAsync("07:00 (in 30 min)");
        await Expect(rows.Nth(1).Locator("td").Nth(3)).ToHaveTextAsync("1");
    }

    [Test]
    public async Task Charts_HaveOneBarPerSeriesAndHour()
    {
        var api = new CannedAdminApi();
        var samples = api.Usage.In("24h").ToList();
        await using var browser = await api.OpenAsync();
        var page = browser.Page;

        int Count(Func<UsageSample, object> series, bool withTokens = false) =>
            samples.Where(s => !withTokens || HasTokens(s)).Select(series).Distinct().Count();
        await Expect(Bars(page, "chart-tokens-client")).ToHaveCountAsync(Count(s => (s.Client, s.Hour), withTokens: true));
        await Expect(Legend(page, "chart-tokens-client")).ToHaveCountAsync(Count(s => s.Client));
        await Expect(Bars(page, "chart-tokens-model")).ToHaveCountAsync(Count(s => (s.Model, s.Hour), withTokens: true));
        await Expect(Legend(page, "chart-tokens-model")).ToHaveCountAsync(Count(s => s.Model));
        await Expect(Bars(page, "chart-requests-client")).ToHaveCountAsync(Count(s => (s.Client, s.Hour)));
        await Expect(Legend(page, "chart-requests-client")).ToHaveCountAsync(Count(s => s.Client));
    }

    [Test]
    public async Task ErrorRateChart_HasOneBarPerErrorClassAndHour()
    {
        var api = new CannedAdminApi();
        var errors = api.Usage.In("24h").Where(s => s.Status is "4xx" or "5xx").ToList();
        await using var browser = await api.OpenAsync();

        await Expect(Bars(browser.Page, "chart-errors")).ToHaveCountAsync(errors.Select(s => (s.Status, s.Hour)).Distinct().Count());
        await Expect(Legend(browser.Page, "chart-errors")).ToHaveTextAsync(new[] { "4xx", "5xx" });
    }

    [Test]
    public async Task BarTitle_SaysTheTokensOfItsClientAndHour()
    {
        var api = new CannedAdminApi();
        var lastHour = CannedUsage.Since("24h").AddHours(24);
        var laptop = api.Usage.In("24h").Where(s => s.Client == "laptop" && s.Hour == lastHour).ToList();
        Assert.That(laptop, Is.Not.Empty, "the canned day has laptop traffic in its last hour");
        var (prompt, completion) = (laptop.Sum(s => s.PromptTokens), laptop.Sum(s => s.CompletionTokens));
        await using var browser = await api.OpenAsync();

        // Bars are drawn hour after hour: laptop's last bar is its last hour's.
        var bar = browser.Page.Locator("[data-testid=chart-tokens-client] svg g.bars rect[data-series='laptop']").Last;
        await Expect(bar.Locator("title")).ToHaveTextAsync(
            $"laptop · Dec 6, 06:00: {N(prompt + completion)} tokens ({N(prompt)} prompt + {N(completion)} completion)");
    }

    [Test]
    public async Task Totals_HaveOneRowPerClientAndModel()
    {
        var api = new CannedAdminApi();
        var pairs = api.Usage.In("24h").GroupBy(s => (s.Client, s.Model)).ToList();
        var laptop = pairs.Single(p => p.Key == ("laptop", "qwen3-coder:480b"));
        await using var browser = await api.OpenAsync();
        var rows = browser.Page.GetByTestId("totals-row");

        await Expect(rows).ToHaveCountAsync(pairs.Count);
        var row = rows.Filter(new() { HasText = "laptop" }).Filter(new() { HasText = "qwen3-coder:480b" });
        await Expect(row.Locator("td")).ToHaveTextAsync(new[]
        {
            "laptop", "qwen3-coder:480b", N(laptop.Sum(s => s.Requests)), N(laptop.Sum(s => s.PromptTokens)),
            N(laptop.Sum(s => s.CompletionTokens)), N(laptop.Where(s => s.Status != "2xx").Sum(s => s.Requests)), "121 ms", "900 ms",
        });
    }

    [Test]
    public async Task RangeSwitch_RefetchesUsageSince7dAndDrawsSixHourBars()
    {
        var api = new CannedAdminApi();
        await using var browser = await api.OpenAsync();
        var page = browser.Page;
        await Expect(Bars(page, "chart-tokens-client")).Not.ToHaveCountAsync(0);

        await page.GetByTestId("range-7d").ClickAsync();

        await EventTimeout.UntilAsync(() =>
            new[] { "hour,client", "hour,model", "hour,status", "client,model" }.All(by => api.UsageQueries.Contains("since=7d&by=" + by)));
        await Expect(page.GetByTestId("range-7d")).ToHaveAttributeAsync("aria-pressed", "true");
        await Expect(page.GetByTestId("range-24h")).ToHaveAttributeAsync("aria-pressed", "false");
        var sixHours = api.Usage.In("7d").Where(HasTokens).Select(s => (s.Client, s.Hour.Ticks / TimeSpan.FromHours(6).Ticks)).Distinct().Count();
        await Expect(Bars(page, "chart-tokens-client")).ToHaveCountAsync(sixHours);
        await Expect(page.GetByTestId("totals-row")).ToHaveCountAsync(api.Usage.In("7d").Select(s => (s.Client, s.Model)).Distinct().Count());
    }

    [Test]
    public async Task UsageDatabaseOff_ShowsNoteAndLiveStatusStillUpdates()
    {
        var api = new CannedAdminApi { UsageCode = 404 };
        await using var browser = await api.OpenAsync();
        var page = browser.Page;

        await Expect(page.GetByTestId("usage-off")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("usage-off")).ToContainTextAsync("PROXY_USAGE_DB=off");
        await Expect(page.GetByTestId("chart-tokens-client")).ToBeHiddenAsync();
        await Expect(page.GetByTestId("totals")).ToBeHiddenAsync();
        await Expect(page.GetByTestId("key-row")).ToHaveCountAsync(2);

        api.Status = CannedAdminApi.StatusJson(inFlight: 7);
        await Expect(page.GetByTestId("in-flight")).ToHaveTextAsync("7");
        await Expect(page.GetByTestId("error")).ToBeHiddenAsync();
        Assert.That(await browser.ProblemsAsync(allowFailedLoads: true), Is.Empty);
    }

    [Test]
    public async Task FailingFetches_ShowErrorAndKeepTheLastData()
    {
        var api = new CannedAdminApi();
        await using var browser = await api.OpenAsync();
        var page = browser.Page;
        var bars = api.Usage.In("24h").Select(s => (s.Client, s.Hour)).Distinct().Count();
        await Expect(Bars(page, "chart-tokens-client")).ToHaveCountAsync(bars);

        api.StatusCode = 500;
        await Expect(page.GetByTestId("error")).ToContainTextAsync("status: HTTP 500");
        await Expect(page.GetByTestId("in-flight")).ToHaveTextAsync("2");
        await Expect(page.GetByTestId("key-row")).ToHaveCountAsync(2);

        api.UsageCode = 500;
        await page.GetByTestId("range-30d").ClickAsync();
        await Expect(page.GetByTestId("error")).ToContainTextAsync("usage: HTTP 500");
        await Expect(Bars(page, "chart-tokens-client")).ToHaveCountAsync(bars);
        await Expect(page.GetByTestId("usage-off")).ToBeHiddenAsync();

        (api.StatusCode, api.Status) = (200, CannedAdminApi.StatusJson(inFlight: 3));
        await Expect(page.GetByTestId("in-flight")).ToHaveTextAsync("3");
        await Expect(page.GetByTestId("error")).Not.ToContainTextAsync("status");
        Assert.That(await browser.ProblemsAsync(allowFailedLoads: true), Is.Empty);
    }

    [Test]
    public async Task Page_LogsNoConsoleErrorsOrCspViolations()
    {
        var api = new CannedAdminApi();
        await using var browser = await api.OpenAsync();
        await Expect(Bars(browser.Page, "chart-errors")).Not.ToHaveCountAsync(0);
        await browser.Page.GetByTestId("range-7d").ClickAsync();
        await EventTimeout.UntilAsync(() => api.UsageQueries.Contains("since=7d&by=client,model"));
        var totals = browser.Page.Locator("section", new() { Has = browser.Page.GetByTestId("totals") });
        await Expect(totals.Locator("h2")).ToContainTextAsync("last 7 days");

        Assert.That(await browser.ProblemsAsync(), Is.Empty);
    }

    /// <summary>The check above means something only if the harness sees a violation when there is one.</summary>
    [Test]
    public async Task ImageFromElsewhere_IsReportedAsCspViolation()
    {
        await using var browser = await new CannedAdminApi().OpenAsync();

        await browser.Page.EvaluateAsync("() => { const i = document.createElement('img'); i.src = 'http://elsewhere.test/x.png'; document.body.append(i); }");

        await browser.Page.WaitForFunctionAsync("() => window.__cspViolations.length > 0");
        Assert.That(await browser.ProblemsAsync(), Has.Some.StartsWith("CSP: img-src blocked http://elsewhere.test/x.png"));
    }

    [Test]
    public async Task ClientNameWithMarkup_ShowsAsText()
    {
        var api = new CannedAdminApi
        {
            Status = CannedAdminApi.StatusJson(firstKey: Markup),
            Usage = new CannedUsage([new(Markup, Markup, "2xx", CannedUsage.Since("24h").AddHours(23), 3, 1200, 340)]),
        };
        await using var browser = await api.OpenAsync();
        var page = browser.Page;

        await Expect(page.GetByTestId("totals-row").Locator("td").First).ToHaveTextAsync(Markup);
        await Expect(Legend(page, "chart-tokens-client")).ToHaveTextAsync(new[] { Markup });
        await Expect(Bars(page, "chart-tokens-client").Locator("title")).ToContainTextAsync(Markup);
        await Expect(page.GetByTestId("key-row").First.Locator("td").First).ToHaveTextAsync(Markup);
        Assert.That(await page.Locator("img").CountAsync(), Is.Zero, "no element was made from the name");
        Assert.That(browser.Dialogs, Is.Empty);
        Assert.That(await browser.ProblemsAsync(), Is.Empty);
    }

    [TestCase(1280, 900)]
    [TestCase(390, 844)]
    public async Task Width_NeedsNoHorizontalScrollAndIsScreenshot(int width, int height)
    {
        await using var browser = await new CannedAdminApi().OpenAsync(width, height);
        var page = browser.Page;
        await Expect(Bars(page, "chart-errors")).Not.ToHaveCountAsync(0);
        await Expect(page.GetByTestId("totals-row")).Not.ToHaveCountAsync(0);

        var (scrollWidth, innerWidth) = (await page.EvaluateAsync<int>("document.documentElement.scrollWidth"), await page.EvaluateAsync<int>("innerWidth"));
        Assert.That(scrollWidth, Is.LessThanOrEqualTo(innerWidth), "the page scrolls sideways");
        var svgWidth = await page.Locator("[data-testid=chart-tokens-client] svg").EvaluateAsync<double>("e => e.getBoundingClientRect().width");
        Assert.That(svgWidth, Is.LessThan(width), "the chart fits the page");
        await browser.ScreenshotAsync($"dashboard-{width}.png");
    }

    [Test]
    public async Task DarkColorScheme_DarkensThePage()
    {
        await using var browser = await new CannedAdminApi().OpenAsync(options: new() { ColorScheme = ColorScheme.Dark });

        var background = await browser.Page.EvaluateAsync<string>("getComputedStyle(document.body).backgroundColor");
        var channels = background.Split('(', ')')[1].Split(',').Take(3).Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        Assert.That(channels.Max(), Is.LessThan(64), $"background {background}");
    }

    /// <summary>A bar of the token charts stands for a series' tokens in an hour: only where there were some.</summary>
    private static bool HasTokens(UsageSample sample) => sample.PromptTokens + sample.CompletionTokens > 0;

    private static ILocator Bars(IPage page, string chart) => page.Locator($"[data-testid={chart}] svg g.bars rect");

    private static ILocator Legend(IPage page, string chart) => page.Locator($"[data-testid={chart}] .legend li");

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
