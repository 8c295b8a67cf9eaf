using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Listener;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// The real proxy, in process, configured through <see cref="ProxyOptions.FromEnvironment"/> against a
/// <see cref="TestUpstream"/> (owned: disposed with the harness). On dispose it also fails the test if the key or the
/// token appears in any byte a raw client received or in any log line (docs/BEHAVIOUR.md#authentication).
/// </summary>
public sealed class ProxyHarness : IAsyncDisposable
{
    private readonly List<RawClient> clients = [];
    private readonly ILoggerFactory loggerFactory;

    private ProxyHarness(ProxyServer server, TestUpstream? upstream, string apiKey, string token, RecordingLoggerProvider logs, ILoggerFactory loggerFactory)
    {
        Server = server;
        Upstream = upstream;
        ApiKey = apiKey;
        Token = token;
        Logs = logs;
        this.loggerFactory = loggerFactory;
    }

    public ProxyServer Server { get; }

    public TestUpstream? Upstream { get; }

    /// <summary>The upstream, for tests that have one.</summary>
    public TestUpstream Origin => Upstream ?? throw new InvalidOperationException("This harness has no test upstream.");

    /// <summary>What the proxy sends upstream (<c>OLLAMA_API_KEY</c>).</summary>
    public string ApiKey { get; }

    /// <summary>What clients must present (<c>PROXY_AUTH_TOKEN</c>).</summary>
    public string Token { get; }

    public RecordingLoggerProvider Logs { get; }

    public IPEndPoint EndPoint => Server.LocalEndPoint;

    public Uri BaseAddress => new($"http://127.0.0.1:{EndPoint.Port}/");

    /// <summary>The header line, CRLF included, that authenticates a raw request.</summary>
    public string AuthorizationField => $"Authorization: Bearer {Token}\r\n";

    /// <param name="variables">Extra or replaced environment variables; a <c>null</c> value removes one.</param>
    /// <param name="requireToken">Whether <c>PROXY_AUTH_TOKEN</c> is set.</param>
    /// <param name="timeProvider">The proxy's clock (a <c>FakeTimeProvider</c> for tests of minutes-long waits).</param>
    public static Task<ProxyHarness> StartAsync(
        TestUpstream upstream, IReadOnlyDictionary<string, string?>? variables = null, bool requireToken = true, TimeProvider? timeProvider = null) =>
        StartAsync(upstream, [], variables, requireToken, timeProvider);

    /// <summary>A proxy with request policies plugged into its pipeline, in order.</summary>
    internal static async Task<ProxyHarness> StartAsync(
        TestUpstream upstream, IReadOnlyList<RequestPolicy> policies, IReadOnlyDictionary<string, string?>? variables = null,
        bool requireToken = true, TimeProvider? timeProvider = null)
    {
        try
        {
            return await StartAsync(upstream.Origin, upstream, variables, requireToken, timeProvider, policies);
        }
        catch
        {
            await upstream.DisposeAsync();
            throw;
        }
    }

    /// <summary>A proxy pointed at an origin that is not a test upstream (nothing listening, for example).</summary>
    public static Task<ProxyHarness> StartAsync(
        string upstreamOrigin, IReadOnlyDictionary<string, string?>? variables = null, TimeProvider? timeProvider = null) =>
        StartAsync(upstreamOrigin, null, variables, requireToken: true, timeProvider, []);

    private static async Task<ProxyHarness> StartAsync(
        string upstreamOrigin, TestUpstream? upstream, IReadOnlyDictionary<string, string?>? variables, bool requireToken, TimeProvider? timeProvider,
        IReadOnlyList<RequestPolicy> policies)
    {
        var apiKey = $"sk-upstream-key-{Guid.NewGuid():N}";
        var token = $"proxy-token-{Guid.NewGuid():N}";
        var environment = new Dictionary<string, string?>
        {
            ["OLLAMA_API_KEY"] = apiKey,
            ["PROXY_AUTH_TOKEN"] = requireToken ? token : null,
            ["PROXY_LISTEN"] = "127.0.0.1:0",
            ["OLLAMA_UPSTREAM_URL"] = upstreamOrigin,
            ["OLLAMA_UPSTREAM_CA_FILE"] = TestCertificates.Shared.AuthorityPemPath,
            ["PROXY_SHUTDOWN_TIMEOUT"] = "5",
            ["PROXY_LOG_LEVEL"] = "Trace",
            // Off unless a test asks: tests run in parallel, and the defaults are a fixed port and a file in the working directory.
            ["PROXY_ADMIN_LISTEN"] = "off",
            ["PROXY_USAGE_DB"] = "off",
        };
        foreach (var (name, value) in variables ?? new Dictionary<string, string?>())
        {
            environment[name] = value;
        }

        var options = ProxyOptions.FromEnvironment(environment);
        var logs = new RecordingLoggerProvider();
        var loggerFactory = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        ProxyServer? server = null;
        try
        {
            server = new ProxyServer(options, loggerFactory, timeProvider, policies);
            using var timeout = EventTimeout.NewSource();
            await server.StartAsync(timeout.Token);
            return new ProxyHarness(server, upstream, apiKey, token, logs, loggerFactory);
        }
        catch
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }

            loggerFactory.Dispose();
            throw;
        }
    }

    /// <summary>A new raw connection to the proxy, closed (and checked for leaked secrets) with the harness.</summary>
    public async Task<RawClient> ConnectAsync(int? receiveBufferSize = null)
    {
        var client = await RawClient.ConnectAsync(EndPoint, receiveBufferSize);
        lock (clients)
        {
            clients.Add(client);
        }

        return client;
    }

    /// <summary>Sends <paramref name="request"/> on a new connection and reads one response for its method.</summary>
    public async Task<RawResponse> SendAsync(string request)
    {
        var client = await ConnectAsync();
        await client.SendAsync(request);
        return await client.ReadResponseAsync(request[..Math.Max(0, request.IndexOf(' ', StringComparison.Ordinal))]);
    }

    /// <summary>
    /// Sends <paramref name="method"/> <paramref name="target"/> with <c>Connection: close</c> on a new connection and
    /// waits until the proxy closes it: by then the proxy is done with the request, its upstream connection back in the
    /// pool or closed (the client's close is hop-by-hop, not the pool's).
    /// </summary>
    public async Task<RawResponse> SendAndAwaitTheEndOfTheRequestAsync(string target, string method = "GET")
    {
        var client = await ConnectAsync();
        await client.SendAsync($"{method} {target} HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n{AuthorizationField}\r\n");
        var response = await client.ReadResponseAsync(method);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        return response;
    }

    /// <summary>
    /// Waits for state the proxy publishes but no client can see (its connection count, its idle upstream
    /// connections): checked every 5 ms, bounded by the failure guard.
    /// </summary>
    public Task WaitForServerAsync(Func<ProxyServer, bool> condition) => EventTimeout.UntilAsync(() => condition(Server));

    /// <summary>An authenticated <c>GET</c> of <paramref name="target"/>.</summary>
    public string Get(string target) => $"GET {target} HTTP/1.1\r\nHost: proxy.test\r\n{AuthorizationField}\r\n";

    /// <summary>Replaces <c>{auth}</c> in a request template with <see cref="AuthorizationField"/>, and control-character names.</summary>
    public string Fill(string template) => ControlCharacters.Expand(template.Replace("{auth}", AuthorizationField, StringComparison.Ordinal));

    /// <summary>
    /// Proves that nothing reached the upstream: a sentinel request is sent through the proxy after the one under
    /// test, and when its response is back the upstream must have received that sentinel and not one byte more.
    /// </summary>
    public async Task AssertNothingElseReachedUpstreamAsync()
    {
        const string sentinel = "/api/sentinel-after-rejected-request";
        var response = await SendAsync(Get(sentinel));
        Assert.That(response.StatusCode, Is.EqualTo(200), $"The sentinel request failed:\r\n{response.Describe()}");
        var received = Origin.Requests;
        Assert.That(received.Select(request => request.Target), Is.EqualTo(new[] { sentinel }),
            $"The upstream received:\r\n{string.Join("\r\n----\r\n", received)}");
        Assert.That(Origin.IncompleteRequests, Is.Empty, "The upstream received the start of a request.");
        Assert.That(Origin.BytesReceived, Is.EqualTo(received[0].Raw.Length), "The upstream received bytes beyond the sentinel request.");
    }

    public async ValueTask DisposeAsync()
    {
        RawClient[] opened;
        lock (clients)
        {
            opened = [.. clients];
        }

        foreach (var client in opened)
        {
            await client.DisposeAsync();
        }

        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
        }

        var disposedInTime = true;
        try
        {
            await Server.DisposeAsync().AsTask().OrTimeoutAsync();
        }
        catch (TimeoutException)
        {
            disposedInTime = false;
        }

        loggerFactory.Dispose();

        foreach (var line in Logs.Lines)
        {
            await TestContext.Out.WriteLineAsync(line);
        }

        var leak = FindLeakedSecret(opened);
        Assert.That(disposedInTime, Is.True, $"ProxyServer.DisposeAsync did not finish within {EventTimeout.Limit.TotalSeconds} s.");
        Assert.That(leak, Is.Null);
        Assert.That(Upstream?.HandlerFailures ?? [], Is.Empty, "A scripted upstream handler failed.");
    }

    private string? FindLeakedSecret(IEnumerable<RawClient> opened)
    {
        foreach (var secret in new[] { ApiKey, Token })
        {
            var name = secret == ApiKey ? "OLLAMA_API_KEY" : "PROXY_AUTH_TOKEN";
            if (opened.Select(client => Encoding.Latin1.GetString(client.Received)).FirstOrDefault(text => text.Contains(secret, StringComparison.Ordinal)) is { } response)
            {
                return $"The {name} value appeared in a response:\r\n{response}";
            }

            if (Logs.Lines.FirstOrDefault(line => line.Contains(secret, StringComparison.Ordinal)) is { } logLine)
            {
                return $"The {name} value appeared in a log line: {logLine}";
            }
        }

        return null;
    }
}
