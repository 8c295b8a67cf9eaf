using System.Net.Sockets;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Server;

/// <summary>A graceful stop lets running requests finish and accepts no new connections (docs/BEHAVIOUR.md#operations).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ShutdownTests
{
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
}
