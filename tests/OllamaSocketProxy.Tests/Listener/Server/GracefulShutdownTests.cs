using System.Diagnostics;
using System.Net.Sockets;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Server;

/// <summary>
/// Shutdown with the real executable (docs/BEHAVIOUR.md#operations): <c>SIGTERM</c> stops accepting at once, lets
/// a running stream finish within <c>PROXY_SHUTDOWN_TIMEOUT</c> and exits 0; a stream still running when the
/// timeout is over is aborted (the client sees the truncation, the upstream stops generating) and the process exits
/// promptly all the same.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class GracefulShutdownTests
{
    private const string StreamHead = "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n";
    private const string FirstChunk = "3\r\n{}\n\r\n";

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
}
