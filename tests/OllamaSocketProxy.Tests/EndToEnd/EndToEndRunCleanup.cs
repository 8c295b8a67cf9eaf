using OllamaSocketProxy.Tests.EndToEnd.Infrastructure;

namespace OllamaSocketProxy.Tests.EndToEnd;

/// <summary>Removes the test CA's temporary folder once every end-to-end test has run.</summary>
[SetUpFixture]
public sealed class EndToEndRunCleanup
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
