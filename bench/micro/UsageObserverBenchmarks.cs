using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Listener.Metrics;
using OllamaSocketProxy.Listener.Usage;

namespace OllamaSocketProxy.Micro;

/// <summary>
/// What counting usage adds to one request, on the request's thread: every hook of the usage observer
/// (<see cref="UsagePolicy"/>) for a non-streamed <c>/api/chat</c> answer, from reading the request's model to
/// queueing its record for the store and counting its metrics with the Prometheus exporter listening, as a default
/// start has them. The recorder's own thread sums the queue and writes the file every 5 s. The Allocated column must
/// read 0 B (what the writer thread allocates when it flushes is spread over the requests of the interval).
/// </summary>
[MemoryDiagnoser]
public class UsageObserverBenchmarks
{
    private const string ChatBody = """{"model":"gpt-oss:120b","messages":[{"role":"user","content":"hi"}],"stream":false}""";

    private const string Answer =
        """{"model":"gpt-oss:120b","created_at":"2026-12-06T06:00:00Z","message":{"role":"assistant","content":"hello"},"done":true,"done_reason":"stop","total_duration":912345678,"prompt_eval_count":26,"eval_count":282}""";

    private readonly RequestContext _request = new(policyCount: 1);
    private readonly ResponseHead _response = new();
    private string _database = "";
    private UsageRecorder _recorder = null!;
    private ProxyMetrics _metrics = null!;
    private PrometheusExporter _exporter = null!;
    private UsagePolicy _policy = null!;
    private ReadOnlySequence<byte> _answer;

    [GlobalSetup]
    public void Setup()
    {
        _database = Path.Combine(Path.GetTempPath(), $"micro-observer-{Guid.NewGuid():N}.db");
        _recorder = new UsageRecorder(new UsageStore(_database, TimeProvider.System, NullLogger.Instance), TimeProvider.System, NullLogger.Instance);
        _metrics = new ProxyMetrics();
        _exporter = new PrometheusExporter(_metrics.Meter);
        _policy = new UsagePolicy(
            _recorder, _metrics, new ModelLabel([]), new OllamaSocketProxy.Listener.Gateway.ClientRegistrySource(null, "token", NullLogger.Instance, TimeProvider.System), TimeProvider.System);

        var head = Encoding.ASCII.GetBytes($"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: {ChatBody.Length}\r\n\r\n{ChatBody}");
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(head));
        if (!RequestHeadParser.TryParse(ref reader, RequestLimits.Default, _request.Head))
        {
            throw new InvalidOperationException("request head did not parse");
        }

        _request.Target = RequestTarget.Map(_request.Head.Target);
        _request.BodyHeld = true;
        _request.HeldBody = reader.UnreadSequence;

        var responseReader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(
            $"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {Answer.Length}\r\n\r\n")));
        if (!ResponseHeadParser.TryParse(ref responseReader, _response))
        {
            throw new InvalidOperationException("response head did not parse");
        }

        _request.ResponseFraming = BodyFraming.ForResponse(RequestMethod.Post, _response);
        _answer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(Answer));
    }

    /// <summary>The hooks in the order the pipeline calls them for one answered request.</summary>
    [Benchmark]
    public int Request()
    {
        _request.PolicyState.Clear();
        _request.Log.Reset(TimeProvider.System.GetTimestamp());
        _policy.OnRequest(_request);
        _policy.OnResponseHead(_request, _response, default);
        _request.Log.MarkFirstByte(TimeProvider.System, 200);
        _policy.OnResponseBody(_request, _answer);
        _policy.OnCompleted(_request);
        return _request.Log.Status;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _recorder.DisposeAsync();
        _exporter.Dispose();
        _metrics.Dispose();
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
        {
            File.Delete(file);
        }
    }
}
