using System.Text;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Process;

/// <summary><c>OllamaSocketProxy clients …</c> through the real executable: a subcommand, not the proxy.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ClientsExecutableTests
{
    [Test]
    public async Task ClientsAdd_WithTheFileFromDotEnv_WritesItAndExitsWithoutStartingTheProxy()
    {
        using var folder = new TemporaryFolder();
        await File.WriteAllTextAsync(folder.File(".env"), "PROXY_CLIENTS_FILE=clients.json\n");

        // No OLLAMA_API_KEY: the proxy would refuse to start, the subcommand does not need it.
        await using var process = ProxyProcess.Start(new Dictionary<string, string>(), folder.Path, ["clients", "add", "laptop", "--models", "gemma3:4b"]);
        var exitCode = await process.WaitForExitAsync();

        var lines = process.Lines.Where(line => line.Length > 0).ToList();
        Assert.That(exitCode, Is.EqualTo(0), string.Join("\n", lines));
        var client = ClientRegistry.Load(folder.File("clients.json"), null).Authenticate(Encoding.ASCII.GetBytes(lines[^1]));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(client?.Name, Is.EqualTo("laptop"));
            Assert.That(lines, Has.Some.Contains("shown only once"));
            Assert.That(lines, Has.None.Contains("listening").IgnoreCase);
        }
    }

    [Test]
    public async Task ClientsListWithoutAFile_ExitsWith1AndOneLine()
    {
        using var folder = new TemporaryFolder();

        await using var process = ProxyProcess.Start(new Dictionary<string, string>(), folder.Path, ["clients", "list"]);
        var exitCode = await process.WaitForExitAsync();

        var lines = process.Lines.Where(line => line.Length > 0).ToList();
        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(lines, Is.EqualTo(new[] { "OllamaSocketProxy clients: no clients file: pass --file PATH or set PROXY_CLIENTS_FILE" }));
    }
}
