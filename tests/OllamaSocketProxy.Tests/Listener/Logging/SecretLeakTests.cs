using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Logging;

/// <summary>
/// Secrets never leak (docs/BEHAVIOUR.md#authentication): with logging at its most verbose (Trace), neither
/// <c>OLLAMA_API_KEY</c> nor <c>PROXY_AUTH_TOKEN</c> appears in any log line (message or exception text) or any
/// response byte, whatever happened to the request: success, stream, each kind of refusal, each kind of upstream
/// failure, a client that left. The scenarios run through one proxy, and clients send the secrets where a careless
/// proxy would echo them.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class SecretLeakTests
{
    private static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromMinutes(10);

    [Test]
    public async Task EveryOutcomeAtTraceLevel_NeverShowsTheKeyOrTheToken()
    {
        var clock = new ObservedClock();
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(RespondByTarget), new Dictionary<string, string?>
        {
            ["PROXY_LOG_LEVEL"] = "Trace",
            ["PROXY_MAX_REQUEST_BODY_SIZE"] = "100000",
            ["PROXY_MAX_REQUEST_HEAD_SIZE"] = "4096",
            ["PROXY_REQUEST_HEAD_TIMEOUT"] = "30",
            ["PROXY_UPSTREAM_RESPONSE_TIMEOUT"] = "600",
        }, timeProvider: clock);
        var (key, token, auth) = (proxy.ApiKey, proxy.Token, proxy.AuthorizationField);

        await ExpectAsync(proxy, proxy.Get("/api/tags"), 200);
        await ExpectAsync(proxy, $"GET /api/show?key={token}&other={key} HTTP/1.1\r\nHost: proxy.test\r\n{auth}\r\n", 200);
        await ExpectAsync(proxy, proxy.Get("/api/stream"), 200);
        await ExpectAsync(proxy, $"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\nAuthorization: Bearer {key}\r\n\r\n", 401);
        await ExpectAsync(proxy, $"POST /v1/messages HTTP/1.1\r\nHost: proxy.test\r\nx-api-key: {key}\r\nContent-Length: 2\r\n\r\n{{}}", 401);
        await ExpectAsync(proxy, $"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\n{auth}{auth}\r\n", 401);
        await ExpectAsync(proxy, $"GET /api/../{token} HTTP/1.1\r\nHost: proxy.test\r\n{auth}\r\n", 400);
        await ExpectAsync(proxy, $"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\nAuthorization Bearer {token}\r\n\r\n", 400);
        await ExpectAsync(proxy, $"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\nX-Key: {key}\u0001\r\n{auth}\r\n", 400);
        await ExpectAsync(proxy, $"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{auth}Content-Length: 200000\r\n\r\n", 413);
        await ExpectAsync(proxy, $"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\n{auth}X-Big: {string.Concat(Enumerable.Repeat(key, 100))}\r\n\r\n", 431);
        await ExpectAsync(proxy, $"TRACE /api/tags HTTP/1.1\r\nHost: proxy.test\r\n{auth}X-Key: {key}\r\n\r\n", 405);
        await ExpectAsync(proxy, $"GET /api/reset HTTP/1.1\r\nHost: proxy.test\r\n{auth}\r\n", 502);

        // The head stalls with the token in it: 408.
        var stalled = await proxy.ConnectAsync();
        await stalled.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{auth}X-Key: {key}\r\n");
        await clock.WaitForArmedAsync(HeadTimeout);
        clock.Advance(HeadTimeout);
        await ExpectResponseAsync(stalled, "POST", 408);

        // The upstream thinks past the response timeout: 504.
        var waiting = await proxy.ConnectAsync();
        await waiting.SendAsync(proxy.Get("/api/silent"));
        await clock.WaitForArmedAsync(ResponseTimeout);
        clock.Advance(ResponseTimeout);
        await ExpectResponseAsync(waiting, "GET", 504);

        // The client leaves mid-stream: the upstream is aborted.
        var leaving = await proxy.ConnectAsync();
        await leaving.SendAsync(proxy.Get("/api/hold"));
        await leaving.ReadHeadAsync();
        await leaving.ReadChunkAsync();
        var held = proxy.Origin.Connections.Single(connection => proxy.Origin.Requests.Any(request => request.Target == "/api/hold" && request.ConnectionId == connection.Id));
        leaving.Abort();
        await held.ClosedByProxy.OrTimeoutAsync();

        // The upstream is gone: 502.
        await proxy.Origin.DisposeAsync();
        await ExpectAsync(proxy, proxy.Get("/api/tags"), 502);

        foreach (var status in new[] { 200, 401, 400, 413, 431, 405, 502, 408, 504 })
        {
            await proxy.Logs.WaitForLineAsync(line => line.Contains($"\" {status} ", StringComparison.Ordinal));
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(proxy.Logs.Lines, Has.Some.StartsWith("Warning").And.Some.StartsWith("Information"), "The scenarios were not logged.");
            Assert.That(proxy.Logs.Lines, Has.None.Contains(key), "OLLAMA_API_KEY appeared in a log line.");
            Assert.That(proxy.Logs.Lines, Has.None.Contains(token), "PROXY_AUTH_TOKEN appeared in a log line.");
        }

        // Every byte each client received is checked again when the harness is disposed.
    }

    [Test]
    public async Task ExecutableAtTraceLevel_NeverWritesTheKeyOrTheToken()
    {
        await using var proxy = await ExecutableHarness.StartAsync(
            TestUpstream.StartTls(RespondByTarget),
            new Dictionary<string, string> { ["PROXY_LOG_LEVEL"] = "Trace", ["PROXY_MAX_REQUEST_BODY_SIZE"] = "100000" });
        var (key, token, auth) = (proxy.ApiKey, proxy.Token, proxy.AuthorizationField);

        await ExpectAsync(proxy, proxy.Get("/api/tags"), 200);
        await ExpectAsync(proxy, $"GET /api/show?key={token}&other={key} HTTP/1.1\r\nHost: proxy.test\r\n{auth}\r\n", 200);
        await ExpectAsync(proxy, proxy.Get("/api/stream"), 200);
        await ExpectAsync(proxy, $"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\nAuthorization: Bearer {key}\r\n\r\n", 401);
        await ExpectAsync(proxy, $"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\nAuthorization Bearer {token}\r\n\r\n", 400);
        await ExpectAsync(proxy, $"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{auth}Content-Length: 200000\r\n\r\n", 413);
        await ExpectAsync(proxy, $"TRACE /api/tags HTTP/1.1\r\nHost: proxy.test\r\n{auth}X-Key: {key}\r\n\r\n", 405);
        await ExpectAsync(proxy, $"GET /api/reset HTTP/1.1\r\nHost: proxy.test\r\n{auth}\r\n", 502);
        var leaving = await proxy.ConnectAsync();
        await leaving.SendAsync(proxy.Get("/api/hold"));
        await leaving.ReadHeadAsync();
        await leaving.ReadChunkAsync();
        leaving.Abort();
        await proxy.Origin.WaitUntilAsync(() => proxy.Origin.Connections.Any(connection => connection.ClosedByProxy.IsCompleted));

        await proxy.Process.TerminateAsync();
        var exitCode = await proxy.Process.WaitForExitAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(exitCode, Is.Zero);
            Assert.That(proxy.Process.Lines, Has.Some.Contains("\" 401 "), "The refusal was not logged.");
            Assert.That(proxy.Process.Lines, Has.Some.Contains("\" 502 "), "The upstream failure was not logged.");
            Assert.That(proxy.Process.Lines, Has.Some.Contains("dbug:"), "Nothing was logged below Information.");
            Assert.That(proxy.FindLeakedSecret(), Is.Null);
        }
    }

    /// <summary>The test upstream's behaviour per target; it never echoes what it received.</summary>
    private static async Task RespondByTarget(UpstreamExchange exchange)
    {
        switch (exchange.Request.Target.Split('?')[0])
        {
            case "/api/stream":
                await exchange.RespondChunkedAsync("application/x-ndjson", ["{\"response\":\"a\"}\n", "{\"response\":\"b\"}\n", "{\"done\":true}\n"]);
                break;
            case "/api/hold":
                await exchange.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n");
                await exchange.WaitAsync(exchange.Connection.ClosedByProxy);
                break;
            case "/api/silent":
                await exchange.WaitAsync(exchange.Connection.ClosedByProxy);
                break;
            case "/api/reset":
                exchange.Abort();
                break;
            default:
                await exchange.RespondAsync(200, "application/json", "{\"models\":[]}");
                break;
        }
    }

    private static async Task ExpectAsync(ProxyHarness proxy, string request, int status)
    {
        var client = await proxy.ConnectAsync();
        await client.SendAsync(request);
        await ExpectResponseAsync(client, request[..request.IndexOf(' ', StringComparison.Ordinal)], status);
    }

    private static async Task ExpectAsync(ExecutableHarness proxy, string request, int status)
    {
        var client = await proxy.ConnectAsync();
        await client.SendAsync(request);
        await ExpectResponseAsync(client, request[..request.IndexOf(' ', StringComparison.Ordinal)], status);
    }

    /// <summary>Reads the response, checks its status, and closes the client so the proxy's lingering close ends.</summary>
    private static async Task ExpectResponseAsync(RawClient client, string method, int status)
    {
        var response = await client.ReadResponseAsync(method);
        Assert.That(response.StatusCode, Is.EqualTo(status), $"{method}: {Encoding.Latin1.GetString(client.Received)}");
        await client.DisposeAsync();
    }
}
