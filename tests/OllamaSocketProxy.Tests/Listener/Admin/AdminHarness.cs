using System.Buffers;
using System.Text;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Listener.Admin;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Infrastructure;
using OllamaSocketProxy.Tests.Listener.Configuration;

namespace OllamaSocketProxy.Tests.Listener.Admin;

/// <summary>
/// An <see cref="AdminServer"/> on 127.0.0.1, port 0, reading fake <see cref="AdminSources"/>. On dispose it stops the
/// server and fails the test if the admin token appears in a log line or in any byte a client received.
/// </summary>
internal sealed class AdminHarness : IAsyncDisposable
{
    public const string Token = "admin-token-7d3e91b0";

    private readonly List<RawClient> clients = [];
    private readonly ILoggerFactory loggerFactory;

    private AdminHarness(AdminServer server, RecordingLoggerProvider logs, ILoggerFactory loggerFactory)
    {
        Server = server;
        Logs = logs;
        this.loggerFactory = loggerFactory;
    }

    public AdminServer Server { get; }

    public RecordingLoggerProvider Logs { get; }

    /// <summary><c>Authorization: Bearer</c> with the token, CRLF included.</summary>
    public static string BearerField => $"Authorization: Bearer {Token}\r\n";

    /// <summary>Starts a server; <paramref name="withToken"/> sets <c>PROXY_ADMIN_TOKEN</c> to <see cref="Token"/>.</summary>
    public static AdminHarness Start(
        AdminSources? sources = null, bool withToken = false, TimeProvider? time = null, TimeSpan? headTimeout = null)
    {
        var options = OptionsFromEnvironment.Read(("PROXY_ADMIN_LISTEN", "127.0.0.1:0"), ("PROXY_ADMIN_TOKEN", withToken ? Token : null));
        var logs = new RecordingLoggerProvider();
        var loggerFactory = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        var server = new AdminServer(options, sources ?? Sources(), loggerFactory.CreateLogger("OllamaSocketProxy.Admin"), time)
        {
            HeadTimeout = headTimeout ?? AdminServer.DefaultHeadTimeout,
        };
        server.Start();
        return new AdminHarness(server, logs, loggerFactory);
    }

    /// <summary>Fake sources: one key up, the API listening, <paramref name="metrics"/> as the scrape.</summary>
    public static AdminSources Sources(
        IReadOnlyList<KeyStatus>? keys = null, bool listening = true, string metrics = "# TYPE up gauge\nup 1\n",
        Func<OllamaSocketProxy.Listener.Usage.UsageQuery, OllamaSocketProxy.Listener.Usage.UsageQueryResult>? queryUsage = null,
        string usageState = AdminSources.UsageOff) => new()
    {
        ScrapeMetrics = output => output.Write(Encoding.UTF8.GetBytes(metrics)),
        QueryUsage = queryUsage,
        UsageState = () => usageState,
        Keys = () => keys ?? [new KeyStatus("key#1 (…abcd)", KeyState.Up, null, 0)],
        Requests = () => (2, 2),
        ClientConnections = () => 5,
        IdleUpstreamConnections = () => 1,
        Listening = () => listening,
        Started = new DateTimeOffset(2026, 12, 6, 4, 0, 0, TimeSpan.Zero),
    };

    /// <summary>A new connection to the server, closed (and checked for the token) with the harness.</summary>
    public async Task<RawClient> ConnectAsync()
    {
        var client = await RawClient.ConnectAsync(Server.LocalEndPoint);
        lock (clients)
        {
            clients.Add(client);
        }

        return client;
    }

    /// <summary>Sends <paramref name="method"/> <paramref name="target"/> with <paramref name="fields"/> on a new connection and reads the answer.</summary>
    public async Task<RawResponse> SendAsync(string target, string fields = "", string method = "GET")
    {
        var client = await ConnectAsync();
        await client.SendAsync($"{method} {target} HTTP/1.1\r\nHost: localhost\r\n{fields}\r\n");
        return await client.ReadResponseAsync(method);
    }

    public async ValueTask DisposeAsync()
    {
        RawClient[] opened;
        lock (clients)
        {
            opened = [.. clients];
        }

        await Server.DisposeAsync();
        foreach (var client in opened)
        {
            await client.DisposeAsync();
        }

        loggerFactory.Dispose();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Logs.Lines, Has.None.Contains(Token), "the admin token in a log line");
            Assert.That(opened.Select(client => Encoding.Latin1.GetString(client.Received)), Has.None.Contains(Token), "the admin token in an answer");
        }
    }
}
