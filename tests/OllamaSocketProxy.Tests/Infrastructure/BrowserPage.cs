using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// A page of <see cref="HeadlessChromium"/> in a context of its own (cookies, viewport, routes), which writes down
/// what a person would not see but a test must: console errors, uncaught script errors, Content-Security-Policy
/// violations and dialogs. Dates and numbers are shown as in <c>en-US</c> and UTC, so that tests can read them.
/// </summary>
public sealed class BrowserPage : IAsyncDisposable
{
    /// <summary>Records each violation the page's CSP reports, before any of the page's own scripts run.</summary>
    private const string ViolationRecorder = """
        window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation',
            e => window.__cspViolations.push(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline')));
        """;

    private readonly IBrowserContext context;
    private readonly ConcurrentQueue<string> consoleErrors = new();
    private readonly ConcurrentQueue<string> pageErrors = new();
    private readonly ConcurrentQueue<string> dialogs = new();

    private BrowserPage(IBrowserContext context, IPage page)
    {
        this.context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                consoleErrors.Enqueue(message.Text);
            }
        };
        page.PageError += (_, error) => pageErrors.Enqueue(error);
        page.Dialog += async (_, dialog) =>
        {
            dialogs.Enqueue($"{dialog.Type}: {dialog.Message}");
            await dialog.DismissAsync();
        };
        page.SetDefaultTimeout((float)EventTimeout.Limit.TotalMilliseconds);
    }

    public IPage Page { get; }

    /// <summary>Dialogs the page opened (<c>alert</c>, <c>confirm</c>); each was dismissed.</summary>
    public IReadOnlyCollection<string> Dialogs => dialogs;

    /// <summary>A new page <paramref name="width"/> CSS pixels wide; <paramref name="options"/> adds to the context's.</summary>
    public static async Task<BrowserPage> OpenAsync(int width = 1280, int height = 900, BrowserNewContextOptions? options = null)
    {
        var browser = await HeadlessChromium.SharedAsync();
        options ??= new BrowserNewContextOptions();
        options.ViewportSize = new ViewportSize { Width = width, Height = height };
        options.Locale ??= "en-US";
        options.TimezoneId ??= "UTC";
        options.ColorScheme ??= ColorScheme.Light;
        var context = await browser.NewContextAsync(options);
        await context.AddInitScriptAsync(ViolationRecorder);
        return new BrowserPage(context, await context.NewPageAsync());
    }

    /// <summary>The violations of the page's Content-Security-Policy so far, in the current document.</summary>
    public async Task<string[]> CspViolationsAsync() =>
        await Page.EvaluateAsync<string[]>("() => window.__cspViolations || []");

    /// <summary>
    /// Console errors, uncaught errors and CSP violations so far. A response the test itself answered with an error
    /// status is logged by Chromium as "Failed to load resource"; <paramref name="allowFailedLoads"/> leaves those out.
    /// </summary>
    public async Task<List<string>> ProblemsAsync(bool allowFailedLoads = false)
    {
        var problems = consoleErrors
            .Where(text => !(allowFailedLoads && text.StartsWith("Failed to load resource", StringComparison.Ordinal)))
            .Select(text => "console: " + text)
            .Concat(pageErrors.Select(text => "uncaught: " + text))
            .Concat((await CspViolationsAsync()).Select(text => "CSP: " + text))
            .ToList();
        return problems;
    }

    /// <summary>
    /// Saves a full-page screenshot as <paramref name="fileName"/> in the test's work folder, attaches it to the test
    /// result (the TRX file's folder) and, when <c>DASHBOARD_SCREENSHOT_DIR</c> is set, copies it there too (for
    /// docs/dashboard.png). Returns the paths written.
    /// </summary>
    public async Task<List<string>> ScreenshotAsync(string fileName)
    {
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots", fileName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.AddTestAttachment(path, "the page as a person sees it");
        var written = new List<string> { path };
        if (Environment.GetEnvironmentVariable("DASHBOARD_SCREENSHOT_DIR") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            var copy = Path.Combine(folder, fileName);
            File.Copy(path, copy, overwrite: true);
            written.Add(copy);
        }

        TestContext.Out.WriteLine("screenshot: " + string.Join(", ", written));
        return written;
    }

    public async ValueTask DisposeAsync() => await context.CloseAsync();
}
