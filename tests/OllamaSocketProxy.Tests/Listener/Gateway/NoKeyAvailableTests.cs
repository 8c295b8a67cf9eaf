using System.Buffers;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Http1;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>The answers when no key can serve: 429 with Retry-After while keys will return, 502 once all are refused.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class NoKeyAvailableTests
{
    private static readonly DateTimeOffset s_now = new(2026, 3, 15, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void AllRateLimited_ExactJsonBody()
    {
        var output = new ArrayBufferWriter<byte>();

        new NoKeyAvailable(NoKeyReason.AllRateLimited, s_now.AddSeconds(42), 42).WriteErrorBody(output);

        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo("""{"error":"all upstream keys are rate limited; next in 42 s"}"""));
    }

    [Test]
    public void AllRateLimited_429WithRetryAfterAndTheJson()
    {
        var output = new ArrayBufferWriter<byte>();
        var unavailable = new NoKeyAvailable(NoKeyReason.AllRateLimited, s_now.AddDays(2), 172_800);

        unavailable.WriteResponse(output, default, close: false);

        var text = Latin1.Text(output.WrittenSpan);
        const string body = """{"error":"all upstream keys are rate limited; next in 172800 s"}""";
        Assert.That(unavailable.Status, Is.EqualTo(429));
        Assert.That(text, Does.StartWith("HTTP/1.1 429 "));
        Assert.That(text, Does.Contain("\r\nContent-Type: application/json; charset=utf-8\r\n"));
        Assert.That(text, Does.Contain($"\r\nContent-Length: {body.Length}\r\n"));
        Assert.That(text, Does.Contain("\r\nRetry-After: 172800\r\n"));
        Assert.That(text, Does.Not.Contain("Connection: close"));
        Assert.That(text, Does.EndWith("\r\n\r\n" + body));
    }

    [Test]
    public void AllDisabled_502WithoutRetryAfter()
    {
        var output = new ArrayBufferWriter<byte>();
        var unavailable = new NoKeyAvailable(NoKeyReason.AllDisabled, default, 0);

        unavailable.WriteResponse(output, default, close: true);

        var text = Latin1.Text(output.WrittenSpan);
        Assert.That(unavailable.Status, Is.EqualTo(502));
        Assert.That(text, Does.StartWith("HTTP/1.1 502 Bad Gateway\r\n"));
        Assert.That(text, Does.Not.Contain("Retry-After"));
        Assert.That(text, Does.Contain("\r\nConnection: close\r\n"));
        Assert.That(text, Does.EndWith("\r\n\r\n" + """{"error":"all upstream keys were refused by the upstream (401 or 403); check OLLAMA_API_KEY"}"""));
    }

    [Test]
    public void HeadOnly_NoBody()
    {
        var output = new ArrayBufferWriter<byte>();

        new NoKeyAvailable(NoKeyReason.AllRateLimited, s_now.AddSeconds(1), 1).WriteResponse(output, default, close: false, headOnly: true);

        Assert.That(Latin1.Text(output.WrittenSpan), Does.EndWith("\r\nRetry-After: 1\r\n\r\n"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(BufferShapes.Each))]
    public void Response_ParsesAsAValidResponseWithItsLength(BufferShape shape)
    {
        var output = new ArrayBufferWriter<byte>();
        new NoKeyAvailable(NoKeyReason.AllRateLimited, s_now.AddSeconds(9), 9).WriteResponse(output, default, close: false);

        var parsed = ResponseParse.Run(shape.Build(output.WrittenSpan));

        Assert.That(parsed.Head.StatusCode, Is.EqualTo(429));
        Assert.That(parsed.Head.ContentLength, Is.EqualTo(output.WrittenCount - parsed.Consumed));
    }
}
