using System.Buffers;
using System.Text;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// Policies plug into the real request pipeline (docs/ARCHITECTURE.md#policies): they see the authenticated client,
/// may refuse before anything goes upstream, may ask for a held request again, see the response body as it passes,
/// and hear the end of every request they were asked about, however it ended.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class PolicySeamTests
{
    [Test]
    public async Task RefusingPolicy_AnswersItsStatusAndNothingGoesUpstream()
    {
        var policy = new ScriptedPolicy { Refuse = request => Encoding.ASCII.GetString(request.Head.Target).Contains("refused", StringComparison.Ordinal) };
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), [policy]);

        var response = await proxy.SendAsync(proxy.Fill("POST /api/chat?refused HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 2\r\n\r\n{}"));
        await WaitForTheEndOfTheRequestAsync(proxy, "\"POST /api/chat\" 429");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(429));
            Assert.That(response.JsonError, Is.EqualTo("refused by policy"));
            Assert.That(response.Headers["Retry-After"], Is.EqualTo("7"));
            Assert.That(response.Headers["Connection"], Is.EqualTo("close"));
            Assert.That(policy.Completed, Is.EqualTo(1));
        }

        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task Policy_SeesTheAuthenticatedClientAndTheHeldBody()
    {
        var policy = new ScriptedPolicy();
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), [policy]);

        var response = await proxy.SendAsync(proxy.Fill("POST /api/chat HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 17\r\n\r\n{\"model\":\"gemma\"}"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200));
            Assert.That(policy.Clients, Is.EqualTo(new[] { "default" }));
            Assert.That(policy.HeldBodies, Is.EqualTo(new[] { "{\"model\":\"gemma\"}" }));
        }
    }

    [Test]
    public async Task BodyObserver_SeesExactlyTheBytesTheClientGets()
    {
        var chunks = Enumerable.Range(0, 20).Select(i => $"{{\"response\":\"token {i}\",\"done\":{(i == 19 ? "true" : "false")}}}\n").ToArray();
        var policy = new ScriptedPolicy();
        await using var proxy = await ProxyHarness.StartAsync(
            TestUpstream.StartTls(exchange => exchange.RespondChunkedAsync("application/x-ndjson", chunks)), [policy]);

        var response = await proxy.SendAsync(proxy.Get("/api/generate"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.IsComplete, Is.True);
            Assert.That(policy.ObservedBody, Is.EqualTo(response.RawBody));
        }
    }

    [Test]
    public async Task RetryVerdict_SendsTheHeldRequestAgainAndTheClientSeesOnlyTheSecondAnswer()
    {
        var policy = new ScriptedPolicy { RetryOnStatus = 503 };
        var attempts = 0;
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange =>
            Interlocked.Increment(ref attempts) == 1
                ? exchange.RespondAsync(503, "application/json", """{"error":"try again"}""")
                : exchange.RespondAsync(200, "application/json", """{"ok":true}""")), [policy]);

        var request = proxy.Fill("POST /api/chat HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 17\r\n\r\n{\"model\":\"gemma\"}");
        var response = await proxy.SendAsync(request);
        await WaitForTheEndOfTheRequestAsync(proxy, "\"POST /api/chat\" 200");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200));
            Assert.That(response.BodyText, Is.EqualTo("""{"ok":true}"""));
            Assert.That(proxy.Origin.Requests, Has.Count.EqualTo(2));
            Assert.That(proxy.Origin.Requests[1].Raw, Is.EqualTo(proxy.Origin.Requests[0].Raw), "The retry is the same request, byte for byte.");
            Assert.That(policy.Completed, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task RetryVerdict_OnAStreamedBody_IsNotHonouredAndTheAnswerIsRelayed()
    {
        var policy = new ScriptedPolicy { RetryOnStatus = 429 };
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange =>
            exchange.RespondAsync(429, "application/json", """{"error":"limit"}""")), [policy]);

        var response = await proxy.SendAsync(proxy.Fill("POST /api/chat HTTP/1.1\r\nHost: x\r\n{auth}Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(429));
            Assert.That(proxy.Origin.Requests, Has.Count.EqualTo(1));
        }
    }

    [Test]
    public async Task EveryRequest_IsCompletedOnceWhateverItsEnd()
    {
        var policy = new ScriptedPolicy();
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange =>
        {
            if (exchange.Request.Target == "/api/fail")
            {
                exchange.Abort();
                return Task.CompletedTask;
            }

            return UpstreamResponses.EchoTargetAsync(exchange);
        }), [policy]);

        var client = await proxy.ConnectAsync();
        await client.SendAsync(proxy.Get("/api/one") + proxy.Get("/api/two"));
        Assert.That((await client.ReadResponseAsync()).StatusCode, Is.EqualTo(200));
        Assert.That((await client.ReadResponseAsync()).StatusCode, Is.EqualTo(200));
        var failed = await proxy.SendAsync(proxy.Get("/api/fail"));
        var unauthorized = await proxy.SendAsync("GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n");
        await proxy.WaitForServerAsync(server => server.ConnectionCount <= 1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(failed.StatusCode, Is.EqualTo(502));
            Assert.That(unauthorized.StatusCode, Is.EqualTo(401));
            Assert.That(policy.Asked, Is.EqualTo(3), "The unauthenticated request reaches no policy.");
            Assert.That(policy.Completed, Is.EqualTo(3));
        }
    }

    /// <summary>
    /// The client may read the answer before the proxy ends the request: the policies hear the end just before its
    /// access-log line is written, so that line is the event to await.
    /// </summary>
    private static Task WaitForTheEndOfTheRequestAsync(ProxyHarness proxy, string logged) =>
        proxy.Logs.WaitForLineAsync(line => line.Contains("OllamaSocketProxy.Access", StringComparison.Ordinal) && line.Contains(logged, StringComparison.Ordinal));

    /// <summary>A policy whose decisions a test scripts, and which records what it was shown.</summary>
    private sealed class ScriptedPolicy : RequestPolicy
    {
        private readonly Lock sync = new();
        private readonly ArrayBufferWriter<byte> observed = new();
        private int asked;
        private int completed;

        public Func<RequestContext, bool>? Refuse { get; init; }

        public int RetryOnStatus { get; init; }

        public List<string> Clients { get; } = [];

        public List<string> HeldBodies { get; } = [];

        public int Asked => Volatile.Read(ref asked);

        public int Completed => Volatile.Read(ref completed);

        public byte[] ObservedBody
        {
            get
            {
                lock (sync)
                {
                    return observed.WrittenSpan.ToArray();
                }
            }
        }

        public override PolicyVerdict OnRequest(RequestContext request)
        {
            Interlocked.Increment(ref asked);
            lock (sync)
            {
                Clients.Add(request.Client!.Name);
                if (!request.HeldBody.IsEmpty)
                {
                    HeldBodies.Add(Encoding.UTF8.GetString(request.HeldBody.ToArray()));
                }
            }

            return Refuse?.Invoke(request) == true
                ? PolicyVerdict.Refuse(429, "{\"error\":\"refused by policy\"}"u8.ToArray(), "Retry-After: 7\r\n"u8.ToArray())
                : PolicyVerdict.Continue;
        }

        public override ResponseVerdict OnResponseHead(RequestContext request, OllamaSocketProxy.Http1.ResponseHead response, in ReadOnlySequence<byte> bodyStart) =>
            response.StatusCode == RetryOnStatus ? ResponseVerdict.Retry : ResponseVerdict.Relay;

        public override bool ObservesResponseBody => true;

        public override void OnResponseBody(RequestContext request, in ReadOnlySequence<byte> bytes)
        {
            lock (sync)
            {
                foreach (var segment in bytes)
                {
                    observed.Write(segment.Span);
                }
            }
        }

        public override void OnCompleted(RequestContext request) => Interlocked.Increment(ref completed);
    }
}
