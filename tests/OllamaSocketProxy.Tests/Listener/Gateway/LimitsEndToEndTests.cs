using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// A client's <c>max_concurrent</c> and <c>requests_per_minute</c> through the real proxy: over either, 429 with
/// <c>Retry-After</c> and a JSON error naming the limit, and nothing upstream (README.md#several-clients-and-keys).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class LimitsEndToEndTests
{
    [Test]
    public async Task OverMaxConcurrent_Gets429UntilTheRequestInFlightEnds()
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var webui = new GatewayClient("open-webui", maxConcurrent: 1);
        await using var gateway = await GatewayHarness.StartAsync(
            async exchange =>
            {
                if (exchange.Request.Target == "/api/version")
                {
                    await exchange.WaitAsync(held.Task);
                }

                await UpstreamResponses.EchoTargetAsync(exchange);
            },
            [webui]);
        var first = await gateway.ConnectAsync();
        await first.SendAsync(gateway.Get(webui, "/api/version"));
        await gateway.Origin.WaitForRequestsAsync(1);

        var refused = await gateway.SendAsync(gateway.Get(webui, "/api/ps"));

        ProxyAssert.IsJsonError(refused, 429);
        Assert.That(refused.Headers["Retry-After"], Is.EqualTo("1"));
        Assert.That(refused.JsonError, Is.EqualTo("client \"open-webui\" is over its limit of 1 concurrent requests"));

        held.SetResult();
        Assert.That((await first.ReadResponseAsync()).StatusCode, Is.EqualTo(200));

        // The access-log line is written once the request is over and its slot given back.
        await gateway.WaitForAccessLineAsync("GET /api/version", 200);
        var next = await gateway.SendAsync(gateway.Get(webui, "/api/tags"));
        Assert.That(next.StatusCode, Is.EqualTo(200), next.Describe());
        Assert.That(gateway.Origin.Requests.Select(request => request.Target), Is.EqualTo(new[] { "/api/version", "/api/tags" }));
    }

    [Test]
    public async Task MaxConcurrentOfOneClient_DoesNotLimitAnother()
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var kids = new GatewayClient("kids", maxConcurrent: 1);
        var laptop = new GatewayClient("laptop");
        await using var gateway = await GatewayHarness.StartAsync(
            async exchange =>
            {
                if (exchange.Request.Target == "/api/version")
                {
                    await exchange.WaitAsync(held.Task);
                }

                await UpstreamResponses.EchoTargetAsync(exchange);
            },
            [kids, laptop]);
        var first = await gateway.ConnectAsync();
        await first.SendAsync(gateway.Get(kids, "/api/version"));
        await gateway.Origin.WaitForRequestsAsync(1);

        var other = await gateway.SendAsync(gateway.Get(laptop, "/api/ps"));

        Assert.That(other.StatusCode, Is.EqualTo(200), other.Describe());
        held.SetResult();
        Assert.That((await first.ReadResponseAsync()).StatusCode, Is.EqualTo(200));
    }

    [Test]
    public async Task OverRequestsPerMinute_Gets429WithRetryAfterUntilATokenIsBack()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 15, 12, 0, 0, TimeSpan.Zero));
        var webui = new GatewayClient("open-webui", requestsPerMinute: 2);
        await using var gateway = await GatewayHarness.StartAsync(null, [webui], timeProvider: clock);

        var first = await gateway.SendAsync(gateway.Get(webui, "/api/tags?n=1"));
        var second = await gateway.SendAsync(gateway.Get(webui, "/api/tags?n=2"));
        var refused = await gateway.SendAsync(gateway.Get(webui, "/api/tags?n=3"));

        Assert.That(first.StatusCode, Is.EqualTo(200), first.Describe());
        Assert.That(second.StatusCode, Is.EqualTo(200), second.Describe());
        ProxyAssert.IsJsonError(refused, 429);
        Assert.That(refused.JsonError, Is.EqualTo("client \"open-webui\" is over its limit of 2 requests per minute"));

        // Two a minute: one token every 30 s, and the bucket was emptied at this instant.
        Assert.That(refused.Headers["Retry-After"], Is.EqualTo("30"));
        clock.Advance(TimeSpan.FromSeconds(29));
        var early = await gateway.SendAsync(gateway.Get(webui, "/api/tags?n=4"));
        ProxyAssert.IsJsonError(early, 429);
        Assert.That(early.Headers["Retry-After"], Is.EqualTo("1"));

        clock.Advance(TimeSpan.FromSeconds(1));
        var later = await gateway.SendAsync(gateway.Get(webui, "/api/tags?n=5"));
        Assert.That(later.StatusCode, Is.EqualTo(200), later.Describe());
        Assert.That(gateway.Origin.Requests.Select(request => request.Target), Is.EqualTo(new[] { "/api/tags?n=1", "/api/tags?n=2", "/api/tags?n=5" }));
    }

    [Test]
    public async Task FailedRequest_GivesItsConcurrencySlotBack()
    {
        var webui = new GatewayClient("open-webui", maxConcurrent: 1);
        await using var gateway = await GatewayHarness.StartAsync(
            exchange =>
            {
                if (exchange.Request.Target == "/api/generate")
                {
                    exchange.Abort();
                    return Task.CompletedTask;
                }

                return UpstreamResponses.EchoTargetAsync(exchange);
            },
            [webui]);

        var failed = await gateway.SendAsync(gateway.Post(webui, "/api/generate", """{"model":"gemma3:4b","prompt":"hi"}"""));
        ProxyAssert.IsJsonError(failed, 502);
        await gateway.WaitForAccessLineAsync("POST /api/generate", 502);

        var next = await gateway.SendAsync(gateway.Get(webui, "/api/tags"));

        Assert.That(next.StatusCode, Is.EqualTo(200), next.Describe());
    }

    [Test]
    public async Task RefusedRequest_TakesNoSlotAndNoToken()
    {
        // A request the model policy refuses is refused before the limits are asked: it costs the client nothing.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 15, 12, 0, 0, TimeSpan.Zero));
        var kids = new GatewayClient("kids", models: ["gemma3:4b"], requestsPerMinute: 1);
        await using var gateway = await GatewayHarness.StartAsync(null, [kids], timeProvider: clock);

        var refused = await gateway.SendAsync(gateway.Post(kids, "/api/chat", """{"model":"gpt-oss:120b","messages":[]}"""));
        var allowed = await gateway.SendAsync(gateway.Post(kids, "/api/chat", """{"model":"gemma3:4b","messages":[]}"""));

        ProxyAssert.IsJsonError(refused, 403);
        Assert.That(allowed.StatusCode, Is.EqualTo(200), allowed.Describe());
    }
}
