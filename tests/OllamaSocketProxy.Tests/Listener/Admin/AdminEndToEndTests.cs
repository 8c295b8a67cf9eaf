using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Infrastructure;
using OllamaSocketProxy.Tests.Listener.Metrics;
using static OllamaSocketProxy.Tests.Listener.Usage.UsageFixtures;

namespace OllamaSocketProxy.Tests.Listener.Admin;

/// <summary>
/// The admin listener of the real proxy, started with <c>PROXY_ADMIN_LISTEN=127.0.0.1:0</c> beside its API port: what
/// it shows of requests that went through the proxy, of its database and of its stop.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class AdminEndToEndTests
{
    private static readonly Dictionary<string, string?> AdminOn = new() { ["PROXY_ADMIN_LISTEN"] = "127.0.0.1:0" };

    [Test]
    public async Task Metrics_AfterARequest_IsTextPrometheusItselfParses_CountingIt()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), AdminOn);
        await proxy.SendAndAwaitTheEndOfTheRequestAsync("/api/tags");

        var response = await GetAsync(proxy, "/metrics");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var families = PrometheusClientParser.Parse(response.BodyText);
        var requests = families.Single(family => family.Name == "ollama_proxy_requests");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(requests.Type, Is.EqualTo("counter"));
            Assert.That(requests.Samples.Where(sample => sample.Name == "ollama_proxy_requests_total").Select(sample => (sample.Labels["client"], sample.Labels["status"], sample.Value)),
                Is.EqualTo(new[] { ("default", "200", 1.0) }));
            Assert.That(families.Select(family => family.Name), Does.Contain("ollama_proxy_upstream_key_up").And.Contain("ollama_proxy_client_connections"));
        }
    }

    [Test]
    public async Task Start_LogsTheAdminAddressAfterTheApiAddress()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), AdminOn);

        var lines = proxy.Logs.Lines.Where(line => line.Contains("listening on", StringComparison.OrdinalIgnoreCase)).ToList();

        Assert.That(lines, Has.Count.EqualTo(2));
        Assert.That(lines[0], Does.Contain($"http://127.0.0.1:{proxy.EndPoint.Port}"));
        Assert.That(lines[1], Does.EndWith($"Admin listening on http://127.0.0.1:{proxy.Server.AdminEndPoint!.Port}"));
    }

    [Test]
    public async Task AdminOff_HasNoEndPoint()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        Assert.That(proxy.Server.AdminEndPoint, Is.Null);
    }

    [Test]
    public async Task Status_DuringAStream_CountsItInFlightOnABusyUpstreamConnection()
    {
        var restAllowed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var proxy = await StartWithAStreamThatWaitsForAsync(restAllowed.Task);
        var (client, head) = await StartTheStreamAsync(proxy);

        var during = await GetAsync(proxy, "/status");
        restAllowed.SetResult();
        await client.ReadBodyAsync(head);

        using var json = JsonDocument.Parse(during.Body);
        var root = json.RootElement;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(root.GetProperty("ready").GetBoolean(), Is.True);
            Assert.That(root.GetProperty("requests_in_flight").GetInt32(), Is.EqualTo(1));
            Assert.That(root.GetProperty("client_connections").GetInt32(), Is.EqualTo(1));
            Assert.That(root.GetProperty("upstream_connections").GetProperty("busy").GetInt32(), Is.EqualTo(1));
            Assert.That(root.GetProperty("usage_db").GetString(), Is.EqualTo("off"));
            Assert.That(root.GetProperty("keys").EnumerateArray().Select(key => key.GetProperty("state").GetString()), Is.EqualTo(new[] { "up" }));
            Assert.That(during.BodyText, Does.Not.Contain(proxy.ApiKey));
        }
    }

    [Test]
    public async Task Readyz_WhileTheProxyStops_Is503UntilTheLastRequestEnds()
    {
        var restAllowed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var proxy = await StartWithAStreamThatWaitsForAsync(restAllowed.Task);
        var admin = proxy.Server.AdminEndPoint!;
        var (client, head) = await StartTheStreamAsync(proxy);
        var before = await GetAsync(admin, "/readyz");

        using var grace = EventTimeout.NewSource();
        var stopping = proxy.Server.StopAsync(grace.Token);
        var during = await GetAsync(admin, "/readyz");
        restAllowed.SetResult();
        await client.ReadBodyAsync(head);
        await stopping.OrTimeoutAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(before.StatusCode, Is.EqualTo(200), before.Describe());
            Assert.That((during.StatusCode, during.BodyText), Is.EqualTo((503, "not ready: the API listener is not accepting connections\n")));
        }

        Assert.ThrowsAsync<SocketException>(async () => await RawClient.ConnectAsync(admin), "the admin listener stops with the proxy");
    }

    [Test]
    public async Task Usage_ReadsTheProxysDatabase_AsUsageQueryJsonWritesIt()
    {
        using var folder = new TemporaryFolder();
        var database = folder.File("usage.db");
        using (var store = new UsageStore(database, Clock(), new LogLines()))
        {
            store.Write(Rollups(
                Record(at: Start, client: "alice", prompt: 5, completion: 7),
                Record(at: Start.AddHours(1), client: "alice"),
                Record(at: Start.AddHours(1), client: "bob", model: "qwen3:8b")));
        }

        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), new Dictionary<string, string?>(AdminOn)
        {
            ["PROXY_USAGE_DB"] = database,
            ["PROXY_USAGE_RETENTION_DAYS"] = "36500",
        });

        var response = await GetAsync(proxy, "/usage?since=all&by=hour,client");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var expected = Query(database, UsageGrouping.Hour | UsageGrouping.Client);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Body, Is.EqualTo(UsageQueryJson.ToUtf8(expected)));
            Assert.That(expected.Rows.Select(row => (row.Column(UsageGrouping.Hour), row.Client, row.Requests)), Is.EqualTo(new[]
            {
                ("2025-06-01T13:00:00Z", "alice", 1L),
                ("2025-06-01T14:00:00Z", "alice", 1L),
                ("2025-06-01T14:00:00Z", "bob", 1L),
            }));
        }
    }

    [Test]
    public async Task AdminPortTaken_StopsTheStartNamingTheVariable()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var error = Assert.ThrowsAsync<ProxyConfigurationException>(async () =>
        {
            await using var proxy = await ProxyHarness.StartAsync(
                TestUpstream.StartTls(), new Dictionary<string, string?> { ["PROXY_ADMIN_LISTEN"] = $"127.0.0.1:{port}" });
        });

        Assert.That(error!.Message, Does.StartWith($"PROXY_ADMIN_LISTEN 127.0.0.1:{port} cannot be bound"));
    }

    /// <summary>A proxy with its admin listener on, whose upstream streams one line and then waits for <paramref name="rest"/>.</summary>
    private static Task<ProxyHarness> StartWithAStreamThatWaitsForAsync(Task rest) =>
        ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n");
            await exchange.WaitAsync(rest);
            await exchange.WriteAsync("0\r\n\r\n");
        }), AdminOn);

    /// <summary>Sends the request and reads the stream's head and first line: the request is under way.</summary>
    private static async Task<(RawClient Client, OllamaSocketProxy.Tests.Infrastructure.ResponseHead Head)> StartTheStreamAsync(ProxyHarness proxy)
    {
        var client = await proxy.ConnectAsync();
        await client.SendAsync(proxy.Get("/api/generate"));
        var head = await client.ReadHeadAsync();
        await client.ReadChunkAsync();
        return (client, head);
    }

    private static Task<RawResponse> GetAsync(ProxyHarness proxy, string target) => GetAsync(proxy.Server.AdminEndPoint!, target);

    private static async Task<RawResponse> GetAsync(IPEndPoint admin, string target)
    {
        await using var client = await RawClient.ConnectAsync(admin);
        await client.SendAsync($"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        return await client.ReadResponseAsync();
    }
}
