using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// What the key pool makes of answers that arrive in pieces or speak of the request rather than the key, through the
/// real proxy and a TLS test upstream.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class KeyVerdictEndToEndTests
{
    private const string WeeklyLimit =
        """{"error":"you (someone) have reached your weekly usage limit, upgrade for higher limits: https://ollama.com/upgrade"}""";

    [Test]
    public async Task RateLimitBodyArrivingAfterItsHead_IsReadBeforeTheKeyIsBenched()
    {
        var body = Encoding.UTF8.GetBytes(WeeklyLimit);
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync($"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n");
            await exchange.WriteAsync(body);
        }));

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(429));
            Assert.That(response.JsonError, Does.StartWith("all upstream keys are rate limited; next in "));
            Assert.That(proxy.Logs.Lines.Where(line => line.Contains("rate limited (weekly limit): benched for 06:00:00", StringComparison.Ordinal)), Has.Exactly(1).Items,
                string.Join("\n", proxy.Logs.Lines));
        }
    }

    [Test]
    public async Task ChunkedRateLimitWithTrailers_IsJudgedAtItsEndWithoutWaitingForMore()
    {
        var body = Encoding.UTF8.GetBytes(WeeklyLimit);
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange => exchange.WriteAsync(
            [.. "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"u8,
             .. Encoding.ASCII.GetBytes($"{body.Length:x}\r\n"), .. body, .. "\r\n0\r\nX-Request-Id: 7\r\n\r\n"u8])));

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(429));
            Assert.That(proxy.Logs.Lines.Where(line => line.Contains("rate limited (weekly limit): benched for 06:00:00", StringComparison.Ordinal)), Has.Exactly(1).Items);
        }
    }

    [Test]
    public async Task ForbiddenModel_IsRelayedAndTheKeyKeepsServing()
    {
        var calls = 0;
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange =>
            Interlocked.Increment(ref calls) == 1
                ? exchange.RespondAsync(403, "application/json", """{"error":"this model requires a subscription, upgrade for access: https://ollama.com/upgrade"}""")
                : UpstreamResponses.EchoTargetAsync(exchange)));

        var refused = await proxy.SendAsync(proxy.Get("/api/show"));
        var next = await proxy.SendAsync(proxy.Get("/api/tags"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(refused.StatusCode, Is.EqualTo(403));
            Assert.That(refused.JsonError, Does.StartWith("this model requires a subscription"));
            Assert.That(next.StatusCode, Is.EqualTo(200), next.Describe());
            Assert.That(proxy.Logs.Lines.Where(line => line.Contains("disabled until restart", StringComparison.Ordinal)), Is.Empty);
        }
    }

    [Test]
    public async Task UnauthorizedKey_IsDisabledAndTheClientIsToldToCheckTheKey()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange =>
            exchange.RespondAsync(401, "application/json", """{"error":"unauthorized"}""")));

        var first = await proxy.SendAsync(proxy.Get("/api/tags"));
        var second = await proxy.SendAsync(proxy.Get("/api/tags"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.StatusCode, Is.EqualTo(502));
            Assert.That(first.JsonError, Does.Contain("check OLLAMA_API_KEY"));
            Assert.That(second.StatusCode, Is.EqualTo(502));
            Assert.That(proxy.Origin.Requests, Has.Count.EqualTo(1), "A disabled key sends nothing more upstream.");
        }
    }
}
