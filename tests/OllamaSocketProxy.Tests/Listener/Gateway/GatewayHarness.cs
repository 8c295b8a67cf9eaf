using System.Text;
using System.Text.Json;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// The real proxy as a gateway (README.md#several-clients-and-keys): a clients file written to a temporary folder
/// (<c>PROXY_CLIENTS_FILE</c>), optionally several upstream keys (<c>OLLAMA_API_KEY</c>), in front of a TLS
/// <see cref="TestUpstream"/>. On dispose, besides <see cref="ProxyHarness"/>'s own checks, it fails the test if any
/// client token or upstream key appears in a log line or in any byte a raw client of this harness received.
/// </summary>
internal sealed class GatewayHarness : IAsyncDisposable
{
    private readonly TemporaryFolder folder;
    private readonly List<string> secrets;
    private readonly List<RawClient> clients = [];

    private GatewayHarness(ProxyHarness proxy, TemporaryFolder folder, string[] keys, string[] secrets)
    {
        Proxy = proxy;
        this.folder = folder;
        Keys = keys;
        this.secrets = [.. secrets];
    }

    public ProxyHarness Proxy { get; }

    public TestUpstream Origin => Proxy.Origin;

    public RecordingLoggerProvider Logs => Proxy.Logs;

    /// <summary>The upstream keys, trimmed, in <c>OLLAMA_API_KEY</c>'s order (key#1 first).</summary>
    public string[] Keys { get; }

    /// <param name="clients">The clients file's entries; none writes no file.</param>
    /// <param name="apiKeys">
    /// <c>OLLAMA_API_KEY</c> as given (commas, spaces); <c>null</c> keeps the harness's single key.
    /// </param>
    /// <param name="requireToken">Whether <c>PROXY_AUTH_TOKEN</c> (the client <c>default</c>) is set.</param>
    public static async Task<GatewayHarness> StartAsync(
        Func<UpstreamExchange, Task>? handler,
        IReadOnlyList<GatewayClient> clients,
        string? apiKeys = null,
        IReadOnlyDictionary<string, string?>? variables = null,
        bool requireToken = true,
        TimeProvider? timeProvider = null)
    {
        var folder = new TemporaryFolder();
        try
        {
            var environment = new Dictionary<string, string?>(variables ?? new Dictionary<string, string?>());
            if (clients.Count > 0)
            {
                var path = folder.File("clients.json");
                await File.WriteAllBytesAsync(path, ClientsFile(clients));
                environment["PROXY_CLIENTS_FILE"] = path;
            }

            if (apiKeys is not null)
            {
                environment["OLLAMA_API_KEY"] = apiKeys;
            }

            var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(handler), environment, requireToken, timeProvider);
            var keys = apiKeys is null ? [proxy.ApiKey] : apiKeys.Split(',', StringSplitOptions.TrimEntries);
            return new GatewayHarness(proxy, folder, keys, [.. keys, .. clients.Select(client => client.Token)]);
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Replaces the clients file with <paramref name="clients"/> (a new file moved over the old, as editors save) and
    /// waits until the proxy has reloaded it. Their tokens join the secrets checked for leaks.
    /// </summary>
    public async Task RewriteClientsAsync(IReadOnlyList<GatewayClient> clients)
    {
        secrets.AddRange(clients.Select(client => client.Token));
        var reloads = Logs.Lines.Count(line => line.Contains("clients reloaded", StringComparison.Ordinal));
        var next = folder.File("clients.json.new");
        await File.WriteAllBytesAsync(next, ClientsFile(clients));
        File.Move(next, folder.File("clients.json"), overwrite: true);
        await EventTimeout.UntilAsync(() => Logs.Lines.Count(line => line.Contains("clients reloaded", StringComparison.Ordinal)) > reloads);
    }

    /// <summary>The <c>Authorization</c> value the upstream gets for key#<paramref name="position"/>.</summary>
    public string Bearer(int position) => $"Bearer {Keys[position - 1]}";

    /// <summary>How the logs name key#<paramref name="position"/>: its position and its last four characters.</summary>
    public string KeyLabel(int position) => $"key#{position} (…{Keys[position - 1][^4..]})";

    /// <summary>The <c>Authorization</c> line of <paramref name="client"/>, or of <c>default</c> (<c>PROXY_AUTH_TOKEN</c>) when null.</summary>
    public string AuthorizationOf(GatewayClient? client) => client?.AuthorizationField ?? Proxy.AuthorizationField;

    /// <summary>A request with a JSON body (Content-Length) as <paramref name="client"/> would send it.</summary>
    public string Post(GatewayClient? client, string target, string json, string extraFields = "") =>
        $"POST {target} HTTP/1.1\r\nHost: proxy.test\r\n{AuthorizationOf(client)}{extraFields}Content-Type: application/json\r\n"
        + $"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}";

    public string Get(GatewayClient? client, string target, string extraFields = "") =>
        $"GET {target} HTTP/1.1\r\nHost: proxy.test\r\n{AuthorizationOf(client)}{extraFields}\r\n";

    /// <summary>A new raw connection, checked for leaked secrets on dispose.</summary>
    public async Task<RawClient> ConnectAsync()
    {
        var client = await Proxy.ConnectAsync();
        lock (clients)
        {
            clients.Add(client);
        }

        return client;
    }

    /// <summary>Sends <paramref name="request"/> (ASCII) on a new connection and reads one response.</summary>
    public async Task<RawResponse> SendAsync(string request)
    {
        var client = await ConnectAsync();
        await client.SendAsync(request);
        return await client.ReadResponseAsync(request[..request.IndexOf(' ', StringComparison.Ordinal)]);
    }

    /// <summary>Waits for the access-log line of a request (written once the request is over, its limits given back).</summary>
    public Task<string> WaitForAccessLineAsync(string methodAndPath, int status) =>
        Logs.WaitForLineAsync(line => line.Contains("OllamaSocketProxy.Access", StringComparison.Ordinal)
            && line.Contains($"\"{methodAndPath}\" {status} ", StringComparison.Ordinal));

    /// <summary>
    /// Proves that nothing but the requests of <paramref name="expectedTargets"/> reached the upstream: a sentinel
    /// request from <paramref name="sentinelClient"/> (one that may pass) goes through after the request under test,
    /// and once its answer is back the upstream must have received exactly those requests and the sentinel, and not
    /// one byte more.
    /// </summary>
    public async Task AssertNothingElseReachedUpstreamAsync(GatewayClient? sentinelClient, params string[] expectedTargets)
    {
        const string sentinel = "/api/sentinel-after-refused-request";
        var response = await SendAsync(Get(sentinelClient, sentinel));
        Assert.That(response.StatusCode, Is.EqualTo(200), $"The sentinel request failed:\r\n{response.Describe()}");
        var received = Origin.Requests;
        Assert.That(received.Select(request => request.Target), Is.EqualTo([.. expectedTargets, sentinel]),
            $"The upstream received:\r\n{string.Join("\r\n----\r\n", received)}");
        Assert.That(Origin.IncompleteRequests, Is.Empty, "The upstream received the start of a request.");
        Assert.That(Origin.BytesReceived, Is.EqualTo(received.Sum(request => (long)request.Raw.Length)), "The upstream received bytes beyond those requests.");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Proxy.DisposeAsync();
        }
        finally
        {
            folder.Dispose();
        }

        RawClient[] opened;
        lock (clients)
        {
            opened = [.. clients];
        }

        foreach (var secret in secrets)
        {
            Assert.That(Logs.Lines.Where(line => line.Contains(secret, StringComparison.Ordinal)), Is.Empty,
                "A client token or an upstream key appeared in a log line.");
            Assert.That(opened.Where(client => Encoding.Latin1.GetString(client.Received).Contains(secret, StringComparison.Ordinal)), Is.Empty,
                "A client token or an upstream key appeared in a response.");
        }
    }

    /// <summary>The clients file, with a comment and a trailing comma as a person would write it.</summary>
    private static byte[] ClientsFile(IReadOnlyList<GatewayClient> clients)
    {
        var entries = new StringBuilder();
        foreach (var client in clients)
        {
            var entry = new MemoryStream();
            using (var json = new Utf8JsonWriter(entry))
            {
                json.WriteStartObject();
                json.WriteString("name", client.Name);
                json.WriteString("token_sha256", GatewayFixtures.Sha256Hex(client.Token));
                if (client.Models is { } models)
                {
                    json.WriteStartArray("models");
                    foreach (var model in models)
                    {
                        json.WriteStringValue(model);
                    }

                    json.WriteEndArray();
                }

                if (client.MaxConcurrent is { } concurrent)
                {
                    json.WriteNumber("max_concurrent", concurrent);
                }

                if (client.RequestsPerMinute is { } rate)
                {
                    json.WriteNumber("requests_per_minute", rate);
                }

                json.WriteBoolean("manage", client.Manage);
                json.WriteEndObject();
            }

            entries.Append("    ").Append(Encoding.UTF8.GetString(entry.ToArray())).Append(",\n");
        }

        return Encoding.UTF8.GetBytes($"// Written by an end-to-end test.\n{{\n  \"clients\": [\n{entries}  ],\n}}\n");
    }
}
