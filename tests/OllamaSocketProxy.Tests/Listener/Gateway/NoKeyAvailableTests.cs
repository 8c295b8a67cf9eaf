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
        var body = new ArrayBufferWriter<byte>();
        var fields = new ArrayBufferWriter<byte>();
        var unavailable = new NoKeyAvailable(NoKeyReason.AllRateLimited, s_now.AddDays(2), 172_800);

        unavailable.WriteErrorBody(body);
        unavailable.WriteRetryAfterField(fields);

        Assert.That(unavailable.Status, Is.EqualTo(429));
        Assert.That(Latin1.Text(fields.WrittenSpan), Is.EqualTo("Retry-After: 172800\r\n"));
        Assert.That(Latin1.Text(body.WrittenSpan), Is.EqualTo("""{"error":"all upstream keys are rate limited; next in 172800 s"}"""));
    }

    [Test]
    public void AllDisabled_502WithoutRetryAfter()
    {
        var body = new ArrayBufferWriter<byte>();
        var fields = new ArrayBufferWriter<byte>();
        var unavailable = new NoKeyAvailable(NoKeyReason.AllDisabled, default, 0);

        unavailable.WriteErrorBody(body);
        unavailable.WriteRetryAfterField(fields);

        Assert.That(unavailable.Status, Is.EqualTo(502));
        Assert.That(fields.WrittenCount, Is.Zero);
        Assert.That(Latin1.Text(body.WrittenSpan), Is.EqualTo("""{"error":"all upstream keys were refused by the upstream (401 or 403); check OLLAMA_API_KEY"}"""));
    }
}
