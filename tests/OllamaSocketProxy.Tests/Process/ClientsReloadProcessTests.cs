using OllamaSocketProxy.Tests.Infrastructure;
using OllamaSocketProxy.Tests.Listener.Gateway;

namespace OllamaSocketProxy.Tests.EndToEnd;

/// <summary>
/// <c>SIGHUP</c> re-reads <c>PROXY_CLIENTS_FILE</c> in the real executable (README.md#several-clients-and-keys,
/// docs/BEHAVIOUR.md#gateway): a client added to the file is let in, the others stay, and no connection is dropped;
/// a broken file keeps the previous clients and logs one line naming the error and its line.
/// </summary>
/// <remarks>
/// The proxy is given a symbolic link to the file, which lives in another folder (as in a Kubernetes ConfigMap
/// mount). The proxy watches the link's folder for changes; the file is replaced in its own folder, so the watcher
/// sees nothing and the reload these tests wait for can only come from the signal.
/// </remarks>
[Parallelizable(ParallelScope.All)]
public sealed class ClientsReloadProcessTests
{
    private const string TokenA = "osp_reload-test-token-of-client-a";
    private const string TokenB = "osp_reload-test-token-of-client-b";

    [Test]
    public async Task SighupAfterAClientWasAdded_LetsItInKeepsTheOthersAndDropsNoConnection()
    {
        using var file = new LinkedClientsFile(Entry("client-a", TokenA));
        await using var proxy = await ExecutableHarness.StartAsync(TestUpstream.StartTls(), file.Variables);
        var kept = await proxy.ConnectAsync();
        var aBefore = await RoundTripAsync(kept, TokenA);
        var bBefore = await RoundTripAsync(await proxy.ConnectAsync(), TokenB);

        file.Replace(Entry("client-a", TokenA), Entry("client-b", TokenB));
        await proxy.Process.HangUpAsync();

        // client-a, client-b, and default (the harness's PROXY_AUTH_TOKEN).
        await proxy.Process.WaitForLineAsync(line => line.Contains("clients reloaded: 3 clients", StringComparison.Ordinal));
        var aOnKept = await RoundTripAsync(kept, TokenA);
        var bOnKept = await RoundTripAsync(kept, TokenB);
        var bOnNew = await RoundTripAsync(await proxy.ConnectAsync(), TokenB);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(aBefore.StatusCode, Is.EqualTo(200), aBefore.Describe());
            Assert.That(bBefore.StatusCode, Is.EqualTo(401), "client-b was let in before it was in the file.");
            Assert.That(aOnKept.StatusCode, Is.EqualTo(200), aOnKept.Describe());
            Assert.That(bOnKept.StatusCode, Is.EqualTo(200), bOnKept.Describe());
            Assert.That(bOnNew.StatusCode, Is.EqualTo(200), bOnNew.Describe());
            Assert.That(new[] { aBefore, aOnKept, bOnKept }.Select(response => response.Headers["Connection"]), Has.None.EqualTo("close"));
            Assert.That(proxy.Origin.Requests, Has.Count.EqualTo(4), "Every request let in goes upstream.");
            Assert.That(proxy.Process.Lines, Has.None.Contains("clients not reloaded"));
            Assert.That(FindSecret(proxy), Is.Null);
        }
    }

    [Test]
    public async Task SighupWithABrokenFile_KeepsThePreviousClientsAndLogsOneLineWithTheErrorAndItsLine()
    {
        using var file = new LinkedClientsFile(Entry("client-a", TokenA));
        await using var proxy = await ExecutableHarness.StartAsync(TestUpstream.StartTls(), file.Variables);
        var kept = await proxy.ConnectAsync();
        var aBefore = await RoundTripAsync(kept, TokenA);

        // client-b's entry is on line 5 of the file.
        file.Replace(Entry("client-a", TokenA), Entry("client-b", TokenB, ", \"manage\": \"yes\""));
        await proxy.Process.HangUpAsync();

        var failed = await proxy.Process.WaitForLineAsync(line => line.Contains("clients not reloaded", StringComparison.Ordinal));
        var aOnKept = await RoundTripAsync(kept, TokenA);
        var aOnNew = await RoundTripAsync(await proxy.ConnectAsync(), TokenA);
        var b = await RoundTripAsync(await proxy.ConnectAsync(), TokenB);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(aBefore.StatusCode, Is.EqualTo(200), aBefore.Describe());
            Assert.That(failed, Does.Contain($"keeping the previous 2 clients: {file.Path}: line 5: clients[1].manage must be true or false"));
            Assert.That(proxy.Process.Lines.Count(line => line.Contains("clients not reloaded", StringComparison.Ordinal)), Is.EqualTo(1));
            Assert.That(proxy.Process.Lines, Has.None.Contains("clients reloaded:"));
            Assert.That(aOnKept.StatusCode, Is.EqualTo(200), aOnKept.Describe());
            Assert.That(aOnKept.Headers["Connection"], Is.Not.EqualTo("close"));
            Assert.That(aOnNew.StatusCode, Is.EqualTo(200), aOnNew.Describe());
            Assert.That(b.StatusCode, Is.EqualTo(401), "A client of the broken file was let in.");
            Assert.That(FindSecret(proxy), Is.Null);
        }
    }

    private static string Entry(string name, string token, string extra = "") =>
        $$"""{ "name": "{{name}}", "token_sha256": "{{GatewayFixtures.Sha256Hex(token)}}"{{extra}} }""";

    private static async Task<RawResponse> RoundTripAsync(RawClient client, string token)
    {
        await client.SendAsync($"GET /api/version HTTP/1.1\r\nHost: proxy.test\r\nAuthorization: Bearer {token}\r\n\r\n");
        return await client.ReadResponseAsync();
    }

    /// <summary>A token or a digest of the file in the proxy's output, or the harness's secrets anywhere.</summary>
    private static string? FindSecret(ExecutableHarness proxy)
    {
        string[] secrets = [TokenA, TokenB, GatewayFixtures.Sha256Hex(TokenA), GatewayFixtures.Sha256Hex(TokenB)];
        return proxy.Process.Lines.FirstOrDefault(line => secrets.Any(secret => line.Contains(secret, StringComparison.Ordinal)))
            ?? proxy.FindLeakedSecret();
    }

    /// <summary>
    /// <c>link/clients.json</c>, a symbolic link to <c>file/clients.json</c>, which is replaced as editors save:
    /// the new text goes to a temporary file, renamed over the old one.
    /// </summary>
    private sealed class LinkedClientsFile : IDisposable
    {
        private readonly TemporaryFolder folder = new();
        private readonly string target;

        public LinkedClientsFile(params string[] entries)
        {
            target = System.IO.Path.Combine(Directory.CreateDirectory(folder.File("file")).FullName, "clients.json");
            Path = System.IO.Path.Combine(Directory.CreateDirectory(folder.File("link")).FullName, "clients.json");
            Replace(entries);
            File.CreateSymbolicLink(Path, target);
        }

        /// <summary>The path the proxy is given.</summary>
        public string Path { get; }

        public IReadOnlyDictionary<string, string> Variables => new Dictionary<string, string> { ["PROXY_CLIENTS_FILE"] = Path };

        /// <summary>Writes one entry a line, the first on line 4.</summary>
        public void Replace(params string[] entries)
        {
            var text = $"// The reload test's clients.\n{{\n  \"clients\": [\n    {string.Join(",\n    ", entries)}\n  ]\n}}\n";
            var temporary = target + ".tmp";
            File.WriteAllText(temporary, text);
            File.Move(temporary, target, overwrite: true);
        }

        public void Dispose() => folder.Dispose();
    }
}
