using OllamaSocketProxy.Tests.EndToEnd.Infrastructure;

namespace OllamaSocketProxy.Tests;

/// <summary>
/// Removes the test CA's temporary folder once every test has run. In the root namespace, so it runs after the
/// end-to-end and the hostile tests alike: both share the one CA.
/// </summary>
[SetUpFixture]
public sealed class TestRunCleanup
{
    [OneTimeTearDown]
    public void DeleteTemporaryFiles()
    {
        if (TestCertificates.IsCreated)
        {
            Directory.Delete(TestCertificates.Shared.Directory, recursive: true);
        }
    }
}
