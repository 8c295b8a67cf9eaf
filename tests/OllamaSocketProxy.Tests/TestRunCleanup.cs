using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests;

/// <summary>
/// Removes the test CA's temporary folder once every test has run. In the root namespace, so it runs after the tests
/// of every folder: all that start a proxy share the one CA.
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
