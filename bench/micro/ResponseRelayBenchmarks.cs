using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using BenchmarkDotNet.Attributes;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener;

namespace OllamaSocketProxy.Micro;

/// <summary>
/// Step 4 and 5 without the sockets: parse the upstream's head, write it for the client, and relay a chunked
/// NDJSON stream of 50 chunks through the real <c>BodyRelay</c>, pipe to pipe.
/// </summary>
[MemoryDiagnoser]
public class ResponseRelayBenchmarks
{
    private readonly ResponseHead _head = new();
    private readonly byte[] _date = new byte[HttpDate.FieldLineLength];
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private readonly Pipe _upstream = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private readonly Pipe _client = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private readonly CancellationTokenSource _never = new();
    private TimeoutControl _timer = null!;
    private ReadOnlySequence<byte> _responseHead;
    private byte[] _chunkedBody = [];

    [GlobalSetup]
    public void Setup()
    {
        _responseHead = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(
            "HTTP/1.1 200 OK\r\nDate: Thu, 26 Nov 2026 10:00:00 GMT\r\nContent-Type: application/x-ndjson\r\n" +
            "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\nVary: Origin\r\n\r\n"));
        var body = new StringBuilder();
        for (var i = 0; i < 50; i++)
        {
            var line = $"{{\"model\":\"gpt-oss:120b\",\"created_at\":\"2026-11-26T10:00:00Z\",\"message\":{{\"role\":\"assistant\",\"content\":\"token {i}\"}},\"done\":false}}\n";
            body.Append($"{line.Length:x}\r\n{line}\r\n");
        }

        body.Append("0\r\n\r\n");
        _chunkedBody = Encoding.ASCII.GetBytes(body.ToString());
        HttpDate.WriteFieldLine(DateTimeOffset.UtcNow, _date);
        _timer = new TimeoutControl(TimeProvider.System, _never.Token, _never.Token);
        _timer.ArmIdle(TimeoutReason.ResponseBody, TimeSpan.FromMinutes(5));
    }

    [Benchmark]
    public int ParseAndWriteResponseHead()
    {
        var reader = new SequenceReader<byte>(_responseHead);
        if (!ResponseHeadParser.TryParse(ref reader, _head))
        {
            throw new InvalidOperationException("benchmark input did not parse");
        }

        var framing = BodyFraming.ForResponse(RequestMethod.Post, _head);
        _output.ResetWrittenCount();
        ResponseHeadWriter.Write(_output, _head, dechunk: false, close: false, _date);
        return _output.WrittenCount + (int)framing.Kind;
    }

    /// <summary>The whole stream in one go, as from a fast upstream: the framing walk and the copy.</summary>
    [Benchmark]
    public async ValueTask<long> RelayChunkedStream()
    {
        await _upstream.Writer.WriteAsync(_chunkedBody);
        var (result, bytes, _) = await BodyRelay.CopyAsync(
            _upstream.Reader, _client.Writer, BodyFraming.Chunked, ChunkedRelayMode.Untouched, long.MaxValue, _timer, _never.Token, _never.Token);
        if (result != RelayResult.Completed)
        {
            throw new InvalidOperationException($"relay ended with {result}");
        }

        var read = await _client.Reader.ReadAsync();
        _client.Reader.AdvanceTo(read.Buffer.End);
        return bytes;
    }
}
