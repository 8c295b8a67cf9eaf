using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Tests.Infrastructure;
using OllamaSocketProxy.Upstream;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// A <see cref="ClientConnection"/> whose request loop never runs, over the server side of a loopback socket pair and
/// with a <see cref="ProxyContext"/> of its own, so one stage of a request (intake, the responses) can be tested
/// without the accept loop. Its upstream is never contacted.
/// </summary>
internal sealed class ConnectionUnderTest : IAsyncDisposable
{
    public const string Token = "stage-test-token";

    private readonly Socket client;
    private readonly Socket server;
    private readonly UpstreamPool pool;
    private readonly ILoggerFactory loggerFactory;

    private ConnectionUnderTest(Socket client, Socket server, UpstreamPool pool, ILoggerFactory loggerFactory, RecordingLoggerProvider logs, ClientConnection connection)
    {
        this.client = client;
        this.server = server;
        this.pool = pool;
        this.loggerFactory = loggerFactory;
        Logs = logs;
        Connection = connection;
    }

    public ClientConnection Connection { get; }

    public RequestContext Request => Connection.Request;

    public RecordingLoggerProvider Logs { get; }

    /// <summary>The field line, CRLF included, that authenticates a request.</summary>
    public static string AuthorizationField => $"Authorization: Bearer {Token}\r\n";

    /// <param name="variables">Extra or replaced environment variables for <see cref="ProxyOptions.FromEnvironment"/>.</param>
    public static async Task<ConnectionUnderTest> StartAsync(
        IReadOnlyDictionary<string, string?>? variables = null, TimeProvider? clock = null, IReadOnlyList<RequestPolicy>? policies = null)
    {
        var environment = new Dictionary<string, string?>
        {
            ["OLLAMA_API_KEY"] = "sk-stage-test-key",
            ["PROXY_AUTH_TOKEN"] = Token,
            ["PROXY_LISTEN"] = "127.0.0.1:0",
            ["OLLAMA_UPSTREAM_URL"] = "http://127.0.0.1:9",
            // Off unless a test asks: tests run in parallel, and the defaults are a fixed port and a file in the working directory.
            ["PROXY_ADMIN_LISTEN"] = "off",
            ["PROXY_USAGE_DB"] = "off",
        };
        foreach (var (name, value) in variables ?? new Dictionary<string, string?>())
        {
            environment[name] = value;
        }

        var options = ProxyOptions.FromEnvironment(environment);
        clock ??= TimeProvider.System;
        var logs = new RecordingLoggerProvider();
        var loggerFactory = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        var pool = new UpstreamPool(
            new UpstreamConnector(UpstreamEndpoint.FromUri(options.UpstreamUrl), null, options.UpstreamConnectTimeout, clock),
            options.UpstreamPoolIdleTimeout, prewarm: 0, clock);
        var context = new ProxyContext(options, pool, policies ?? [], loggerFactory, clock, CancellationToken.None);

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = EventTimeout.NewSource();
        await client.ConnectAsync(listener.LocalEndPoint!, timeout.Token);
        var server = await listener.AcceptAsync(timeout.Token);
        return new ConnectionUnderTest(client, server, pool, loggerFactory, logs, new ClientConnection(server, context));
    }

    public async ValueTask DisposeAsync()
    {
        Connection.Timeouts.Dispose();
        server.Dispose();
        client.Dispose();
        await pool.DisposeAsync();
        loggerFactory.Dispose();
    }
}
