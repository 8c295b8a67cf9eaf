using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests;

/// <summary>
/// Removes the test CA's temporary folder and closes the shared headless browser once every test has run. In the root
/// namespace, so it runs after the tests of every folder: all that start a proxy share the one CA, and all that open
/// a page share the one browser.
/// </summary>
[SetUpFixture]
public sealed class TestRunCleanup
{
    [OneTimeTearDown]
    public async Task DeleteTemporaryFilesAndCloseBrowser()
    {
        await HeadlessChromium.CloseAsync();
        if (TestCertificates.IsCreated)
        {
            Directory.Delete(TestCertificates.Shared.Directory, recursive: true);
        }
    }
}
