using System.Text;
using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// No limit may cut a long generation (a model may think for minutes), while a silent upstream and an idle client
/// are still let go (docs/BEHAVIOUR.md#limits-and-timeouts). Minutes pass on a <see cref="FakeTimeProvider"/>;
/// sub-second limits on the real clock only where the awaited event is the timeout itself.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class LongGenerationTests
{
    private static readonly Dictionary<string, string?> ShortClientLimits = new()
    {
        ["PROXY_REQUEST_HEAD_TIMEOUT"] = "1",
        ["PROXY_KEEPALIVE_TIMEOUT"] = "1",
        ["PROXY_MIN_REQUEST_BODY_RATE_GRACE"] = "1",
    };

    [Test]
    public async Task NineMinutesOfThinkingBeforeTheFirstByte_DoNotCutTheRequest()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var answerAllowed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WaitAsync(answerAllowed.Task);
            await exchange.RespondChunkedAsync("application/x-ndjson", ["{\"done\":true}\n"]);
        }), ShortClientLimits, timeProvider: clock);
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"POST /api/generate HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Length: 2\r\n\r\n{{}}");
        await proxy.Origin.WaitForRequestsAsync(1);
        for (var minute = 0; minute < 9; minute++)
        {
            clock.Advance(TimeSpan.FromMinutes(1));
        }

        answerAllowed.SetResult();
        var response = await client.ReadResponseAsync("POST");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(response.IsComplete, Is.True, response.Describe());
    }

    [Test]
    public async Task FourMinutesOfSilenceBetweenChunks_DoNotCutTheStream()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var restAllowed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n");
            await exchange.WaitAsync(restAllowed.Task);
            await exchange.WriteAsync("3\r\n{}\n\r\n0\r\n\r\n");
        }), ShortClientLimits, timeProvider: clock);
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/chat"));
        var head = await client.ReadHeadAsync();
        await client.ReadChunkAsync();
        clock.Advance(TimeSpan.FromMinutes(4));
        restAllowed.SetResult();
        var rest = await client.ReadBodyAsync(head);

        Assert.That(rest.IsComplete, Is.True, rest.Describe());
        Assert.That(rest.BodyText, Is.EqualTo("{}\n"));
    }

    [Test]
    public async Task UpstreamSilentLongerThanTheIdleTimeout_TruncatesTheStreamAndClosesTheUpstream()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n");
            await exchange.WaitAsync(exchange.Connection.ClosedByProxy);
        }), new Dictionary<string, string?> { ["PROXY_UPSTREAM_IDLE_TIMEOUT"] = "0.5" });

        var response = await proxy.SendAsync(proxy.Get("/api/chat"));
        var upstream = await proxy.Origin.WaitForConnectionAsync(1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Encoding.Latin1.GetString(response.RawBody), Is.EqualTo("3\r\n{}\n\r\n"));
            Assert.That(response.IsComplete, Is.False, response.Describe());
        }

        await upstream.ClosedByProxy.OrTimeoutAsync();
    }

    [Test]
    public async Task IdleKeepAliveConnection_IsClosedQuietlyAfterTheKeepAliveTimeout()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(),
            new Dictionary<string, string?> { ["PROXY_KEEPALIVE_TIMEOUT"] = "0.5" });
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/tags"));
        var response = await client.ReadResponseAsync();

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        await ProxyAssert.ClosesConnectionAsync(client, response);
    }
}
