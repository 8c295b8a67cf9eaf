using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// No limit may cut a long generation (docs/BEHAVIOUR.md#limits-and-timeouts): a model may think for minutes before
/// its first byte and fall silent for minutes between tokens, and a generation that keeps streaming for fake hours,
/// far past every timeout the proxy has (each of them short on the client side), is never cut. Minutes pass on a
/// <see cref="FakeTimeProvider"/>, or on an <see cref="ObservedClock"/> only after the proxy has re-armed the deadline
/// of the phase it is in. That a silent upstream and an idle client are still let go:
/// <see cref="Upstream.UpstreamTimeoutTests"/>, <see cref="Server.KeepAliveTimeoutTests"/>.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class LongGenerationTests
{
    private const int Tokens = 30;

    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);

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
    public async Task GenerationStreamingForHoursPastEveryTimeout_IsNeverCut()
    {
        var clock = new ObservedClock();
        var tokens = Channel.CreateUnbounded<string?>();
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            if (exchange.Request.Target != "/api/generate")
            {
                await UpstreamResponses.EchoTargetAsync(exchange);
                return;
            }

            var head = true;
            await foreach (var token in tokens.Reader.ReadAllAsync(exchange.Stopping))
            {
                var chunk = token is null ? "0\r\n\r\n" : $"{Encoding.UTF8.GetByteCount(token):x}\r\n{token}\r\n";
                await exchange.WriteAsync(head ? "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk : chunk);
                head = false;
                if (token is null)
                {
                    return;
                }
            }
        }), new Dictionary<string, string?>
        {
            ["PROXY_REQUEST_HEAD_TIMEOUT"] = "1",
            ["PROXY_KEEPALIVE_TIMEOUT"] = "2",
            ["PROXY_MIN_REQUEST_BODY_RATE_GRACE"] = "1",
            ["PROXY_UPSTREAM_CONNECT_TIMEOUT"] = "3",
            ["PROXY_UPSTREAM_POOL_IDLE_TIMEOUT"] = "4",
            ["PROXY_UPSTREAM_RESPONSE_TIMEOUT"] = "600",
            ["PROXY_UPSTREAM_IDLE_TIMEOUT"] = "300",
        }, timeProvider: clock);
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"POST /api/generate HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Length: 2\r\n\r\n{{}}");
        var upstream = await proxy.Origin.WaitForConnectionAsync(1);
        await proxy.Origin.WaitForRequestsAsync(1);
        await clock.WaitForArmedAsync(ResponseTimeout);
        clock.Advance(TimeSpan.FromMinutes(9));

        tokens.Writer.TryWrite(Token(0));
        var head = await client.ReadHeadAsync();
        var received = new StringBuilder(Encoding.UTF8.GetString((await client.ReadChunkAsync()).Data));
        for (var i = 1; i < Tokens; i++)
        {
            await clock.WaitForArmedAsync(IdleTimeout);
            clock.Advance(TimeSpan.FromMinutes(4));
            tokens.Writer.TryWrite(Token(i));
            received.Append(Encoding.UTF8.GetString((await client.ReadChunkAsync()).Data));
        }

        tokens.Writer.TryWrite(null);
        var rest = await client.ReadBodyAsync(head, "POST");
        await client.SendAsync(proxy.Get("/api/tags"));
        var next = await client.ReadResponseAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(head.StatusCode, Is.EqualTo(200), head.Text);
            Assert.That(received.ToString(), Is.EqualTo(string.Concat(Enumerable.Range(0, Tokens).Select(Token))));
            Assert.That(rest.IsComplete, Is.True, rest.Describe());
            Assert.That(upstream.ClosedByProxy.IsCompleted, Is.False, "The proxy closed the upstream connection of a healthy stream.");
            Assert.That(next.StatusCode, Is.EqualTo(200), "The client connection did not survive the long stream: " + next.Describe());
        }
    }

    private static string Token(int i) => $$"""{"response":"t{{i}}","done":false}""" + "\n";
}
