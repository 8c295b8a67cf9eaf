using Microsoft.Playwright;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// One headless Chromium for the whole test run, launched on first use and closed by <see cref="TestRunCleanup"/>.
/// It is Debian's <c>chromium</c> package (<c>/usr/bin/chromium</c>, or <c>CHROMIUM_PATH</c>), driven by the Node.js
/// driver that the Microsoft.Playwright package copies into the test's output folder: nothing is downloaded, and
/// <c>playwright install</c> is never run. Without the browser the tests that need it fail and say how to install it;
/// they are not skipped.
/// </summary>
public static class HeadlessChromium
{
    private const string DefaultPath = "/usr/bin/chromium";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static IPlaywright? s_playwright;
    private static IBrowser? s_browser;

    /// <summary>The browser's executable: <c>CHROMIUM_PATH</c> when set, else Debian's.</summary>
    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path : DefaultPath;

    /// <summary>The shared browser; the first call launches it.</summary>
    public static async Task<IBrowser> SharedAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (s_browser is { IsConnected: true })
            {
                return s_browser;
            }

            var path = ExecutablePath;
            if (!File.Exists(path))
            {
                Assert.Fail($"Chromium is not installed at {path}: the browser tests need Debian's chromium " +
                    "(`apt-get install -y chromium`, which .ci/run does), or CHROMIUM_PATH set to a Chromium executable.");
            }

            // Expect(...) waits for what a page shows as long as the tests wait for any event.
            Assertions.SetDefaultExpectTimeout((float)EventTimeout.Limit.TotalMilliseconds);
            s_playwright ??= await Playwright.CreateAsync();
            s_browser = await s_playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = path,
                Headless = true,
                // The tests run as root (CI's container), where Chromium's sandbox cannot start.
                Args = ["--no-sandbox"],
                Timeout = (float)EventTimeout.Limit.TotalMilliseconds * 3,
            });
            return s_browser;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Closes the browser and stops the driver, if they were started.</summary>
    public static async Task CloseAsync()
    {
        if (s_browser is not null)
        {
            await s_browser.CloseAsync();
            s_browser = null;
        }

        s_playwright?.Dispose();
        s_playwright = null;
    }
}
