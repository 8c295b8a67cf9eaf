using System.Net;
using System.Text;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// The real executable (<see cref="ProxyProcess"/>) in its own temporary folder, forwarding to a <see cref="TestUpstream"/>
/// (owned) with a fresh key and token. Disposing it kills the process if it still runs and removes the folder.
/// </summary>
public sealed class ExecutableHarness : IAsyncDisposable
{
    private readonly DirectoryInfo folder;
    private readonly List<RawClient> clients = [];

    private ExecutableHarness(ProxyProcess process, TestUpstream upstream, DirectoryInfo folder, string apiKey, string token)
    {
        Process = process;
        Origin = upstream;
        this.folder = folder;
        ApiKey = apiKey;
        Token = token;
    }

    public ProxyProcess Process { get; }

    public TestUpstream Origin { get; }

    public string ApiKey { get; }

    public string Token { get; }

    public IPEndPoint EndPoint { get; private set; } = null!;

    public string AuthorizationField => $"Authorization: Bearer {Token}\r\n";

    /// <summary>Starts the executable and waits for its start-up line.</summary>
    /// <param name="variables">Extra or replaced environment variables.</param>
    public static async Task<ExecutableHarness> StartAsync(TestUpstream upstream, IReadOnlyDictionary<string, string>? variables = null)
    {
        var apiKey = $"sk-exe-key-{Guid.NewGuid():N}";
        var token = $"exe-token-{Guid.NewGuid():N}";
        var environment = new Dictionary<string, string>
        {
            ["OLLAMA_API_KEY"] = apiKey,
            ["PROXY_AUTH_TOKEN"] = token,
            ["PROXY_LISTEN"] = "127.0.0.1:0",
            ["OLLAMA_UPSTREAM_URL"] = upstream.Origin,
            ["OLLAMA_UPSTREAM_CA_FILE"] = TestCertificates.Shared.AuthorityPemPath,
        };
        foreach (var (name, value) in variables ?? new Dictionary<string, string>())
        {
            environment[name] = value;
        }

        var folder = Directory.CreateTempSubdirectory("ollama-socket-proxy-exe-");
        var harness = new ExecutableHarness(ProxyProcess.Start(environment, folder.FullName), upstream, folder, apiKey, token);
        try
        {
            harness.EndPoint = await harness.Process.WaitForListeningEndPointAsync();
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new raw connection, kept so <see cref="FindLeakedSecret"/> can read what it received.</summary>
    public async Task<RawClient> ConnectAsync()
    {
        var client = await RawClient.ConnectAsync(EndPoint);
        clients.Add(client);
        return client;
    }

    public string Get(string target) => $"GET {target} HTTP/1.1\r\nHost: proxy.test\r\n{AuthorizationField}\r\n";

    /// <summary>The first output line or received response that holds the key or the token, or <c>null</c>.</summary>
    public string? FindLeakedSecret()
    {
        foreach (var (name, secret) in new[] { ("OLLAMA_API_KEY", ApiKey), ("PROXY_AUTH_TOKEN", Token) })
        {
            if (Process.Lines.FirstOrDefault(line => line.Contains(secret, StringComparison.Ordinal)) is { } line)
            {
                return $"The {name} value appeared in the proxy's output: {line}";
            }

            if (clients.Select(client => Encoding.Latin1.GetString(client.Received)).FirstOrDefault(text => text.Contains(secret, StringComparison.Ordinal)) is { } response)
            {
                return $"The {name} value appeared in a response:\r\n{response}";
            }
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        await Process.DisposeAsync();
        await Origin.DisposeAsync();
        foreach (var line in Process.Lines)
        {
            await TestContext.Out.WriteLineAsync(line);
        }

        folder.Delete(recursive: true);
    }
}
