using System.Buffers;
using OllamaSocketProxy.Tests.Http1;
using static OllamaSocketProxy.Tests.Listener.Usage.UsageBodies;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>
/// Every sample body, as is and chunked, gives the same counts however its bytes arrive: whole, split in two reads at
/// every position, one byte per read, in one read of many segments, and in random reads.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class UsageReaderSplitTests
{
    private static IEnumerable<TestCaseData> Samples() =>
        from sample in UsageSamples.All
        from chunking in Enum.GetValues<Chunking>()
        select new TestCaseData(sample, chunking).SetArgDisplayNames(sample.Name, chunking.ToString());

    private static IEnumerable<TestCaseData> SamplesAndShapes() =>
        from sample in UsageSamples.All
        from chunking in Enum.GetValues<Chunking>()
        from shape in BufferShapes.All
        select new TestCaseData(sample, chunking, shape).SetArgDisplayNames(sample.Name, chunking.ToString(), shape.Name);

    [TestCaseSource(nameof(Samples))]
    public void OneRead_ReadsTheSampleCounts(UsageSample sample, Chunking chunking)
    {
        var wire = Encode(sample.Body, chunking);

        Assert.That(Read(sample.Format, IsChunked(chunking), [Whole(wire)]), Is.EqualTo((sample.Prompt, sample.Completion)));
    }

    [TestCaseSource(nameof(Samples))]
    public void TwoReadsSplitAtEveryPosition_SameCounts(UsageSample sample, Chunking chunking)
    {
        var wire = Encode(sample.Body, chunking);
        var wrong = new List<string>();
        for (var split = 0; split <= wire.Length; split++)
        {
            var counts = Read(sample.Format, IsChunked(chunking), [Whole(wire, 0, split), Whole(wire, split, wire.Length - split)]);
            if (counts != (sample.Prompt, sample.Completion))
            {
                wrong.Add($"split at {split}: {counts}");
            }
        }

        Assert.That(wrong, Is.Empty);
    }

    [TestCaseSource(nameof(Samples))]
    public void OneBytePerRead_SameCounts(UsageSample sample, Chunking chunking)
    {
        var wire = Encode(sample.Body, chunking);
        var reads = Enumerable.Range(0, wire.Length).Select(i => Whole(wire, i, 1));

        Assert.That(Read(sample.Format, IsChunked(chunking), reads), Is.EqualTo((sample.Prompt, sample.Completion)));
    }

    [TestCaseSource(nameof(SamplesAndShapes))]
    public void OneReadOfManySegments_SameCounts(UsageSample sample, Chunking chunking, BufferShape shape)
    {
        var wire = Encode(sample.Body, chunking);

        Assert.That(Read(sample.Format, IsChunked(chunking), [shape.Build(wire)]), Is.EqualTo((sample.Prompt, sample.Completion)));
    }

    [TestCaseSource(nameof(Samples))]
    public void RandomReads_SameCounts(UsageSample sample, Chunking chunking)
    {
        var wire = Encode(sample.Body, chunking);
        for (var seed = 1; seed <= 20; seed++)
        {
            Assert.That(Read(sample.Format, IsChunked(chunking), RandomReads(wire, seed)), Is.EqualTo((sample.Prompt, sample.Completion)), $"seed {seed}");
        }
    }

    [TestCaseSource(nameof(Samples))]
    public void EmptyReadsBetween_SameCounts(UsageSample sample, Chunking chunking)
    {
        var wire = Encode(sample.Body, chunking);
        var reads = RandomReads(wire, 7).SelectMany(read => new[] { ReadOnlySequence<byte>.Empty, read });

        Assert.That(Read(sample.Format, IsChunked(chunking), reads), Is.EqualTo((sample.Prompt, sample.Completion)));
    }
}
