using Microsoft.Playwright;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>The admin listener's dashboard page (src/Listener/Admin/dashboard.html) in <see cref="HeadlessChromium"/>.</summary>
public static class Dashboard
{
    /// <summary>
    /// The Content-Security-Policy the admin listener sends with the page; the page tests serve it with the same, so
    /// that a script or a fetch it would block fails the tests too.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>The page as the binary embeds it (the manifest resource <c>dashboard.html</c>).</summary>
    public static string Html()
    {
        using var stream = typeof(OllamaSocketProxy.Listener.ProxyServer).Assembly.GetManifestResourceStream("dashboard.html")
            ?? throw new InvalidOperationException("The Listener assembly embeds no resource named dashboard.html.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Opens the dashboard of a running admin listener at <paramref name="adminBaseUrl"/> (its <c>GET /</c>) and waits
    /// until the page has shown one answer of <c>status</c>. For a listener that asks for credentials, pass them in
    /// <paramref name="options"/> (<c>HttpCredentials</c> for Basic, or an <c>Authorization</c> header in
    /// <c>ExtraHTTPHeaders</c>).
    /// </summary>
    public static async Task<BrowserPage> OpenAsync(Uri adminBaseUrl, BrowserNewContextOptions? options = null, int width = 1280)
    {
        var browser = await BrowserPage.OpenAsync(width, options: options);
        try
        {
            var response = await browser.Page.GotoAsync(adminBaseUrl.ToString());
            Assert.That(response?.Status, Is.EqualTo(200), $"GET {adminBaseUrl} should answer with the page");
            await Assertions.Expect(browser.Page.GetByTestId("updated")).Not.ToBeEmptyAsync();
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }
}
