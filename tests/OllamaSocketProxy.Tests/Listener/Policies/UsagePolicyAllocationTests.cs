using System.Buffers;
using Microsoft.Extensions.Logging.Abstractions;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Listener.Metrics;
using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Listener.Usage;
using OllamaSocketProxy.Tests.Infrastructure;
using ResponseHead = OllamaSocketProxy.Http1.ResponseHead;

namespace OllamaSocketProxy.Tests.Listener.Policies;

/// <summary>
/// What the usage observer does on the request path, every hook of a request from reading its model to queueing its
/// record and counting its metrics (with the Prometheus exporter listening), allocates nothing once a connection has
/// served one request. Measured on this thread, so the recorder's own thread and the scheduler do not count.
/// </summary>
[NonParallelizable]
public sealed class UsagePolicyAllocationTests
{
    private const string ChatBody = """{"model":"gpt-oss:120b","messages":[{"role":"user","content":"hi"}],"stream":false}""";

    private const string Answer =
        """{"model":"gpt-oss:120b","created_at":"2026-12-06T06:00:00Z","message":{"role":"assistant","content":"hello"},"done":true,"done_reason":"stop","total_duration":912345678,"prompt_eval_count":26,"eval_count":282}""";

    [Test]
    public async Task EveryHookOfARequest_AllocatesNothingOnceWarm()
    {
        using var folder = new TemporaryFolder();
        var store = new UsageStore(folder.File("usage.db"), TimeProvider.System, NullLogger.Instance);
        await using var recorder = new UsageRecorder(store, TimeProvider.System, NullLogger.Instance);
        using var metrics = new ProxyMetrics();
        using var exporter = new PrometheusExporter(metrics.Meter);
        using var clients = new OllamaSocketProxy.Listener.Gateway.ClientRegistrySource(null, "token", NullLogger.Instance, TimeProvider.System);
        var policy = new UsagePolicy(recorder, metrics, new ModelLabel([]), clients, TimeProvider.System);
        var request = new RequestContext(policyCount: 1);

        var head = Latin1.Bytes($"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: {ChatBody.Length}\r\n\r\n{ChatBody}");
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(head));
        Assert.That(RequestHeadParser.TryParse(ref reader, RequestLimits.Default, request.Head), Is.True);
        request.Target = RequestTarget.Map(request.Head.Target);
        request.BodyHeld = true;
        request.HeldBody = reader.UnreadSequence;

        var response = new ResponseHead();
        var responseReader = new SequenceReader<byte>(new ReadOnlySequence<byte>(
            Latin1.Bytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {Answer.Length}\r\n\r\n")));
        Assert.That(ResponseHeadParser.TryParse(ref responseReader, response), Is.True);
        request.ResponseFraming = BodyFraming.ForResponse(RequestMethod.Post, response);
        var answer = new ReadOnlySequence<byte>(Latin1.Bytes(Answer));

        // Warm: the first request of each series, row and model allocates.
        for (var i = 0; i < 1500; i++)
        {
            Request(policy, request, response, answer);
        }

        Assert.That(await recorder.FlushAsync(), Is.True);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Request(policy, request, response, answer);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(await recorder.FlushAsync(), Is.True);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(allocated, Is.Zero, "bytes allocated by 1,000 requests");
            Assert.That(recorder.DroppedCount, Is.Zero);
            var total = UsageFixtures.Query(folder.File("usage.db")).Total;
            Assert.That((total.Requests, total.PromptTokens, total.CompletionTokens), Is.EqualTo((2500L, 2500L * 26, 2500L * 282)));
        }
    }

    /// <summary>The hooks in the order the pipeline calls them for one answered request.</summary>
    private static void Request(UsagePolicy policy, RequestContext request, ResponseHead response, in ReadOnlySequence<byte> answer)
    {
        request.PolicyState.Clear();
        request.Log.Reset(TimeProvider.System.GetTimestamp());
        policy.OnRequest(request);
        policy.OnResponseHead(request, response, default);
        request.Log.MarkFirstByte(TimeProvider.System, 200);
        policy.OnResponseBody(request, answer);
        policy.OnCompleted(request);
    }
}
