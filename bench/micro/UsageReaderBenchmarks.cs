using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using OllamaSocketProxy.Listener.Usage;

namespace OllamaSocketProxy.Micro;

/// <summary>
/// The usage observer's share of a streamed answer: a chunked NDJSON stream of 50 chunks and its final object read by
/// a <see cref="UsageReader"/> reused as a connection reuses it, one read per chunk (as the relay flushes them) or the
/// whole stream in one read; and a single answer with a Content-Length in one read (bench/run.sh's /api/chat answer).
/// The Allocated column must read 0 B.
/// </summary>
[MemoryDiagnoser]
public class UsageReaderBenchmarks
{
    private readonly UsageReader _reader = new();
    private ReadOnlySequence<byte>[] _chunks = [];
    private ReadOnlySequence<byte> _whole;
    private ReadOnlySequence<byte> _answer;

    [GlobalSetup]
    public void Setup()
    {
        var chunks = new List<byte[]>();
        for (var i = 0; i < 50; i++)
        {
            chunks.Add(Chunk($"{{\"model\":\"gpt-oss:120b\",\"created_at\":\"2026-11-26T10:00:00Z\",\"message\":{{\"role\":\"assistant\",\"content\":\"token {i}\"}},\"done\":false}}\n"));
        }

        chunks.Add(Chunk(
            "{\"model\":\"gpt-oss:120b\",\"created_at\":\"2026-11-26T10:00:01Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"}," +
            "\"done\":true,\"done_reason\":\"stop\",\"total_duration\":4883583458,\"load_duration\":1334875,\"prompt_eval_count\":26," +
            "\"prompt_eval_duration\":342546000,\"eval_count\":50,\"eval_duration\":4535599000}\n"));
        chunks.Add("0\r\n\r\n"u8.ToArray());
        _chunks = [.. chunks.Select(chunk => new ReadOnlySequence<byte>(chunk))];
        _whole = new ReadOnlySequence<byte>(chunks.SelectMany(chunk => chunk).ToArray());
        _answer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(
            "{\"model\":\"gpt-oss:120b\",\"created_at\":\"2025-06-01T12:00:00.000000000Z\",\"message\":{\"role\":\"assistant\",\"content\":" +
            "\"The sky looks blue because the air scatters the short blue wavelengths of sunlight much more than the long red ones, " +
            "so blue light reaches the eye from every direction.\"},\"done_reason\":\"stop\",\"done\":true,\"total_duration\":1843229875," +
            "\"load_duration\":28517209,\"prompt_eval_count\":14,\"prompt_eval_duration\":41823000,\"eval_count\":42,\"eval_duration\":1770561000}"));
        if (ReadPerChunk() != 76 || ReadWhole() != 76 || ReadAnswer() != 56)
        {
            throw new InvalidOperationException("benchmark input did not count 26 + 50 and 14 + 42 tokens");
        }
    }

    /// <summary>One read per chunk: the stream as it arrives from a generating model.</summary>
    [Benchmark]
    public long ReadPerChunk()
    {
        _reader.Reset(UsageFormat.OllamaJsonLines, chunked: true);
        foreach (var chunk in _chunks)
        {
            _reader.Observe(chunk);
        }

        return Total();
    }

    /// <summary>The whole stream in one read, as from a fast upstream.</summary>
    [Benchmark]
    public long ReadWhole()
    {
        _reader.Reset(UsageFormat.OllamaJsonLines, chunked: true);
        _reader.Observe(_whole);
        return Total();
    }

    /// <summary>A single answer with a Content-Length, in one read: a keep-alive request's answer.</summary>
    [Benchmark]
    public long ReadAnswer()
    {
        _reader.Reset(UsageFormat.OllamaJson, chunked: false);
        _reader.Observe(_answer);
        return Total();
    }

    private long Total() => _reader.TryGetCounts(out var prompt, out var completion) ? prompt.GetValueOrDefault() + completion.GetValueOrDefault() : -1;

    private static byte[] Chunk(string line) => Encoding.ASCII.GetBytes($"{line.Length:x}\r\n{line}\r\n");
}
