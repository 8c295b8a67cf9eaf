using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// Streams are relayed as they arrive, and an upstream that goes away mid-stream leaves the client a visibly truncated
/// response (docs/BEHAVIOUR.md#response). The client going away: <see cref="Server.ClientHangUpTests"/>.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class StreamingTests
{
    private const string FirstLine = """{"model":"llama3.2","response":"Hel","done":false}""" + "\n";
    private const string SecondLine = """{"model":"llama3.2","response":"lo","done":false}""" + "\n";

    [TestCase("application/x-ndjson", FirstLine, SecondLine)]
    [TestCase("text/event-stream", "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n", "data: [DONE]\n\n")]
    public async Task ChunkedStream_ClientReceivesTheFirstChunkBeforeTheUpstreamWritesTheSecond(string contentType, string first, string second)
    {
        var secondChunkAllowed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: {contentType}\r\nTransfer-Encoding: chunked\r\n\r\n{Chunk(first)}");
            await exchange.WaitAsync(secondChunkAllowed.Task);
            await exchange.WriteAsync(Chunk(second) + "0\r\n\r\n");
        }));
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/generate"));
        var head = await client.ReadHeadAsync();
        var firstChunk = await client.ReadChunkAsync();
        secondChunkAllowed.SetResult();
        var rest = await client.ReadBodyAsync(head);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(head.Headers["Content-Type"], Is.EqualTo(contentType));
            Assert.That(Encoding.UTF8.GetString(firstChunk.Data), Is.EqualTo(first));
            Assert.That(rest.BodyText, Is.EqualTo(second));
            Assert.That(rest.IsComplete, Is.True, rest.Describe());
        }
    }

    [Test]
    public async Task ContentLengthStream_ClientReceivesTheFirstPartBeforeTheUpstreamWritesTheRest()
    {
        var restAllowed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: {FirstLine.Length + SecondLine.Length}\r\n\r\n{FirstLine}");
            await exchange.WaitAsync(restAllowed.Task);
            await exchange.WriteAsync(SecondLine);
        }));
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/generate"));
        var head = await client.ReadHeadAsync();
        var firstPart = await client.ReadBytesAsync(FirstLine.Length);
        restAllowed.SetResult();
        var rest = await client.ReadBytesAsync(SecondLine.Length);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(head.ContentLength, Is.EqualTo(FirstLine.Length + SecondLine.Length));
            Assert.That(Encoding.UTF8.GetString(firstPart), Is.EqualTo(FirstLine));
            Assert.That(Encoding.UTF8.GetString(rest), Is.EqualTo(SecondLine));
        }
    }

    [Test]
    public async Task UpstreamDiesMidChunkedBody_ClientSeesNoTerminatingChunk()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n{Chunk(FirstLine)}");
            exchange.Abort();
        }));

        var response = await proxy.SendAsync(proxy.Get("/api/chat"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            Assert.That(response.BodyText, Is.EqualTo(FirstLine));
            Assert.That(response.IsComplete, Is.False, $"The truncated stream ended cleanly:\r\n{response.Describe()}");
        }
    }

    [Test]
    public async Task UpstreamClosesMidChunkedBody_ClientSeesNoTerminatingChunk()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n{Chunk(FirstLine)}");
            exchange.CloseAfterResponse();
        }));

        var response = await proxy.SendAsync(proxy.Get("/api/chat"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.BodyText, Is.EqualTo(FirstLine), response.Describe());
            Assert.That(response.IsComplete, Is.False, $"The truncated stream ended cleanly:\r\n{response.Describe()}");
        }
    }

    [Test]
    public async Task UpstreamDiesMidContentLengthBody_ClientConnectionClosesBeforeTheLength()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"models\":[");
            exchange.Abort();
        }));

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            Assert.That(response.BodyText, Is.EqualTo("{\"models\":["));
            Assert.That(response.IsComplete, Is.False, response.Describe());
        }
    }

    private static string Chunk(string data) => $"{Encoding.UTF8.GetByteCount(data):x}\r\n{data}\r\n";
}
