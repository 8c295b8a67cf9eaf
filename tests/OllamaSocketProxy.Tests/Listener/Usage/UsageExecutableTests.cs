using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Infrastructure;
using OllamaSocketProxy.Tests.Listener.Gateway;
using static OllamaSocketProxy.Tests.Listener.Usage.UsageFixtures;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary><c>OllamaSocketProxy usage</c> through the real executable: a subcommand, not the proxy.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class UsageExecutableTests
{
    [Test]
    public async Task Usage_WithTheDatabaseFromDotEnv_PrintsItsTotalsAndExitsWithoutStartingTheProxy()
    {
        using var folder = new TemporaryFolder();
        using (var store = new UsageStore(folder.File("counted.db"), Clock(), new LogLines()))
        {
            store.Write(Rollups(Record(prompt: 3, completion: 4), Record(client: "bob", prompt: null, completion: null)));
        }

        await File.WriteAllTextAsync(folder.File(".env"), "PROXY_USAGE_DB=counted.db\n");

        // No OLLAMA_API_KEY: the proxy would refuse to start, the subcommand does not need it.
        await using var process = ProxyProcess.Start(new Dictionary<string, string>(), folder.Path, ["usage", "--by", "client", "--csv"]);
        var exitCode = await process.WaitForExitAsync();

        var lines = process.Lines.Where(line => line.Length > 0).ToList();
        Assert.That(exitCode, Is.EqualTo(0), string.Join("\n", lines));
        Assert.That(lines, Is.EqualTo(new[]
        {
            "client,requests,prompt_tokens,completion_tokens,unknown_token_requests,avg_ttfb_ms,avg_duration_ms,max_duration_ms",
            "alice,1,3,4,0,100,1000,1000",
            "bob,1,0,0,1,100,1000,1000",
        }));
    }

    [Test]
    public async Task UsageWithoutADatabase_ExitsWith1AndOneLine()
    {
        using var folder = new TemporaryFolder();

        await using var process = ProxyProcess.Start(new Dictionary<string, string>(), folder.Path, ["usage"]);
        var exitCode = await process.WaitForExitAsync();

        var lines = process.Lines.Where(line => line.Length > 0).ToList();
        Assert.That(exitCode, Is.EqualTo(1));
        Assert.That(lines, Is.EqualTo(new[] { $"OllamaSocketProxy usage: no usage database at {folder.File("usage.db")} (pass --db PATH or set PROXY_USAGE_DB)" }));
    }
}
