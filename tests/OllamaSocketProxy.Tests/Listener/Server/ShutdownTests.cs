using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Server;

/// <summary>
/// Shutdown (docs/BEHAVIOUR.md#operations), in process (<c>ProxyServer.StopAsync</c>) and by <c>SIGTERM</c> to the
/// real executable: the proxy stops accepting at once, lets a running stream finish within
/// <c>PROXY_SHUTDOWN_TIMEOUT</c> and exits 0; a stream still running when the timeout is over is aborted (the client
/// sees the truncation, the upstream stops generating) and the process exits promptly all the same. An idle connection
/// closes at once, and a client that never reads cannot hold the stop past the proxy's own deadlines.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ShutdownTests
{
    private const string Key = "sk-executable-test-key-8d1f";
    private const string StreamHead = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n";
    private const string FirstChunk = "3\r\n{}\n\r\n";

    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(2);

    [Test]
    public async Task StopDuringAStream_LetsTheStreamFinishClosesTheConnectionThenRefusesConnections()
    {
        var restAllowed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n");
            await exchange.WaitAsync(restAllowed.Task);
            await exchange.WriteAsync("3\r\n{}\n\r\n0\r\n\r\n");
        }));
        var endPoint = proxy.EndPoint;
        var client = await proxy.ConnectAsync();
        await client.SendAsync(proxy.Get("/api/generate"));
        var head = await client.ReadHeadAsync();
        await client.ReadChunkAsync();

        using var grace = EventTimeout.NewSource();
        var stopping = proxy.Server.StopAsync(grace.Token);
        restAllowed.SetResult();
        var rest = await client.ReadBodyAsync(head);
        var afterResponse = await client.ReadUntilClosedAsync();
        await client.DisposeAsync();
        await stopping.OrTimeoutAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rest.IsComplete, Is.True, rest.Describe());
            Assert.That(afterResponse, Is.Empty);
            Assert.That(grace.IsCancellationRequested, Is.False, "StopAsync needed the whole grace period.");
        }

        Assert.ThrowsAsync<SocketException>(async () => await RawClient.ConnectAsync(endPoint));
    }

    [Test]
    public async Task StopWithIdleKeepAliveConnection_ClosesItAtOnce()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();
        await client.SendAsync(proxy.Get("/api/tags"));
        await client.ReadResponseAsync();

        using var grace = EventTimeout.NewSource();
        var stopping = proxy.Server.StopAsync(grace.Token);
        var afterResponse = await client.ReadUntilClosedAsync();
        await client.DisposeAsync();
        await stopping.OrTimeoutAsync();

        Assert.That(afterResponse, Is.Empty);
        Assert.That(grace.IsCancellationRequested, Is.False, "StopAsync waited for the whole grace period on an idle connection.");
    }

    // A review regression: a client that never reads must not hold its connection, or the shutdown, past the proxy's
    // own deadlines.
    [TestCase(false)]
    [TestCase(true)]
    public async Task ClientThatNeverReadsItsErrors_IsClosedAfterTheLingerTimeAndStopCompletes(bool fillTheWindowFirst)
    {
        var clock = new ObservedClock();

        // Every deadline a non-reading client can meet here is 2 s: the head timeout (a local answer's write) and
        // the linger (the last error's flush, then the lingering close).
        await using var proxy = await ProxyHarness.StartAsync(
            TestUpstream.StartTls(),
            new Dictionary<string, string?> { ["PROXY_REQUEST_HEAD_TIMEOUT"] = "2" },
            timeProvider: clock);
        var client = await proxy.ConnectAsync(receiveBufferSize: fillTheWindowFirst ? 4096 : null);
        var requests = new StringBuilder();
        if (fillTheWindowFirst)
        {
            // Local answers (no token, nothing upstream), far more than the socket buffers hold.
            for (var i = 0; i < 20_000; i++)
            {
                requests.Append("GET / HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
            }
        }

        for (var i = 0; i < 2_000; i++)
        {
            requests.Append($"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\nBroken header {i}\r\n\r\n");
        }

        var sending = SendIgnoringTheCloseAsync(client, Encoding.Latin1.GetBytes(requests.ToString()));
        await proxy.Logs.WaitForLineAsync(line => line.Contains("request refused", StringComparison.Ordinal)
            || (fillTheWindowFirst && line.Contains("\"GET /\" 200", StringComparison.Ordinal)));

        var stop = proxy.Server.StopAsync(CancellationToken.None);
        for (var step = 0; step < 8 && !stop.IsCompleted; step++)
        {
            await Task.WhenAny(clock.WaitForArmedAsync(Linger), stop);
            clock.Advance(Linger);
        }

        await stop.OrTimeoutAsync();
        await client.ReadUntilClosedAsync();
        await sending;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(proxy.Server.ConnectionCount, Is.Zero);
            Assert.That(Encoding.Latin1.GetString(client.Received), Does.StartWith(fillTheWindowFirst ? "HTTP/1.1 200 OK" : "HTTP/1.1 400 "));
        }
    }

    [Test]
    public async Task Sigterm_StopsTheProxyWithExitCode0()
    {
        var folder = Directory.CreateTempSubdirectory("ollama-socket-proxy-exe-");
        try
        {
            await using var proxy = ProxyProcess.Start(
                new Dictionary<string, string> { ["OLLAMA_API_KEY"] = Key, ["PROXY_LISTEN"] = "127.0.0.1:0" },
                folder.FullName);
            await proxy.WaitForListeningEndPointAsync();

            await proxy.TerminateAsync();

            Assert.That(await proxy.WaitForExitAsync(), Is.Zero, string.Join("\n", proxy.Lines));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Test]
    public async Task SigtermDuringAStream_RefusesNewConnectionsLetsTheStreamFinishAndExitsWith0()
    {
        var restAllowed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var proxy = await ExecutableHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync(StreamHead + FirstChunk);
            await exchange.WaitAsync(restAllowed.Task);
            await exchange.WriteAsync("3\r\n{}\n\r\n0\r\n\r\n");
        }));
        var client = await proxy.ConnectAsync();
        await client.SendAsync(proxy.Get("/api/generate"));
        var head = await client.ReadHeadAsync();
        await client.ReadChunkAsync();

        await proxy.Process.TerminateAsync();
        await proxy.Process.WaitForLineAsync(line => line.Contains("Stopping", StringComparison.Ordinal));
        Assert.ThrowsAsync<SocketException>(async () => await RawClient.ConnectAsync(proxy.EndPoint), "The stopping proxy accepted a new connection.");
        restAllowed.SetResult();
        var rest = await client.ReadBodyAsync(head);
        var afterResponse = await client.ReadUntilClosedAsync();
        await client.DisposeAsync();
        var exitCode = await proxy.Process.WaitForExitAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rest.IsComplete, Is.True, rest.Describe());
            Assert.That(rest.BodyText, Is.EqualTo("{}\n"));
            Assert.That(afterResponse, Is.Empty);
            Assert.That(exitCode, Is.Zero, string.Join("\n", proxy.Process.Lines));
            Assert.That(proxy.Process.Lines, Has.None.Contains("aborting"), "The stream that finished in time was aborted.");
        }
    }

    [Test]
    public async Task SigtermWithAStreamThatOutlastsTheShutdownTimeout_AbortsItAndExitsPromptly()
    {
        await using var proxy = await ExecutableHarness.StartAsync(
            TestUpstream.StartTls(async exchange =>
            {
                await exchange.WriteAsync(StreamHead + FirstChunk);
                await exchange.WaitAsync(exchange.Connection.ClosedByProxy);
            }),
            new Dictionary<string, string> { ["PROXY_SHUTDOWN_TIMEOUT"] = "1" });
        var client = await proxy.ConnectAsync();
        await client.SendAsync(proxy.Get("/api/generate"));
        var head = await client.ReadHeadAsync();
        await client.ReadChunkAsync();
        var upstream = await proxy.Origin.WaitForConnectionAsync(1);

        var stopwatch = Stopwatch.StartNew();
        await proxy.Process.TerminateAsync();
        var rest = await client.ReadBodyAsync(head);
        await upstream.ClosedByProxy.OrTimeoutAsync();
        var exitCode = await proxy.Process.WaitForExitAsync();
        var untilExit = stopwatch.Elapsed;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rest.IsComplete, Is.False, $"The aborted stream ended cleanly:\r\n{rest.Describe()}");
            Assert.That(exitCode, Is.Zero, string.Join("\n", proxy.Process.Lines));
            Assert.That(untilExit, Is.LessThan(TimeSpan.FromSeconds(1 + 4)), "The proxy took far longer than PROXY_SHUTDOWN_TIMEOUT to exit.");
            Assert.That(proxy.Process.Lines, Has.Some.Contains("aborting"));
        }
    }

    /// <summary>Sends in the background; the proxy may close (or reset) before it took everything, which is the point.</summary>
    private static async Task SendIgnoringTheCloseAsync(RawClient client, byte[] bytes)
    {
        try
        {
            await client.SendAsync(bytes);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }
}
