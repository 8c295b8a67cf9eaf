using System.Buffers;
using System.Text;
using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Http1;
using static OllamaSocketProxy.Tests.Listener.Usage.UsageBodies;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>A connection's reader, reused response after response, allocates nothing once warm.</summary>
[NonParallelizable]
public sealed class UsageReaderAllocationTests
{
    [Test]
    public void ManyResponses_AllocateNothing()
    {
        // A 50-chunk NDJSON stream, chunked, in reads that cut chunk-size lines and values; and every other sample.
        var stream = new StringBuilder();
        for (var i = 0; i < 50; i++)
        {
            stream.Append($"{{\"model\":\"gpt-oss:120b\",\"created_at\":\"2026-11-26T10:00:00Z\",\"message\":{{\"role\":\"assistant\",\"content\":\"token {i}\"}},\"done\":false}}\n");
        }

        stream.Append("{\"model\":\"gpt-oss:120b\",\"created_at\":\"2026-11-26T10:00:01Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"prompt_eval_count\":26,\"eval_count\":50}\n");
        var responses = new List<(UsageFormat Format, bool Chunked, List<ReadOnlySequence<byte>> Reads, bool Known)>
        {
            (UsageFormat.OllamaJsonLines, true, RandomReads(Encode(stream.ToString(), Chunking.PerLine), 1).ToList(), true),
            (UsageFormat.OllamaJsonLines, true, [BufferShapes.OneBytePerSegment.Build(Encode(stream.ToString(), Chunking.PerLine))], true),
        };
        foreach (var sample in UsageSamples.All)
        {
            foreach (var chunking in Enum.GetValues<Chunking>())
            {
                var known = sample.Prompt.HasValue || sample.Completion.HasValue;
                responses.Add((sample.Format, IsChunked(chunking), RandomReads(Encode(sample.Body, chunking), 3).ToList(), known));
            }
        }

        var reader = new UsageReader();
        var counted = RunAll(reader, responses);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 20; i++)
        {
            counted += RunAll(reader, responses);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That((allocated, counted), Is.EqualTo((0L, 21L * responses.Count(r => r.Known))));
    }

    private static long RunAll(UsageReader reader, List<(UsageFormat Format, bool Chunked, List<ReadOnlySequence<byte>> Reads, bool Known)> responses)
    {
        var counted = 0L;
        foreach (var (format, chunked, reads, _) in responses)
        {
            reader.Reset(format, chunked);
            foreach (var read in reads)
            {
                reader.Observe(read);
            }

            counted += reader.TryGetCounts(out _, out _) ? 1 : 0;
        }

        return counted;
    }
}
