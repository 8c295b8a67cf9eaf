using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>
/// Any split of any input into buffer segments, or into reads, gives the same result: the same parsed fields, the
/// same rejection, the same chunk runs (docs/ARCHITECTURE.md#tests). Inputs are generated from fixed seeds, valid and
/// mutated, so a failure names the seed and input index and reproduces.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class BufferSplitPropertyTests
{
    private const int Inputs = 400;

    private static readonly RequestLimits s_small = new() { MaxRequestLineSize = 64, MaxHeadSize = 256, MaxHeaderCount = 8 };

    /// <summary>The shapes an input is compared over, besides one segment; the random ones differ for every input.</summary>
    private static BufferShape[] ShapesFor(int input) =>
    [
        BufferShapes.OneBytePerSegment,
        BufferShapes.RandomSplits((input * 3) + 1),
        BufferShapes.RandomSplits((input * 3) + 2),
        BufferShapes.RandomSplits((input * 3) + 3),
        BufferShapes.RandomSplitsWithEmptySegments(input),
    ];

    /// <summary>Valid inputs, half of them mutated, with what may follow them on the wire.</summary>
    private static IEnumerable<(int Index, byte[] Input)> Generate(int seed, Func<Random, byte[]> valid)
    {
        var random = new Random(seed);
        for (var i = 0; i < Inputs; i++)
        {
            var input = valid(random);
            yield return (i, random.Next(2) == 0 ? input : MessageGenerator.Mutate(random, input));
        }
    }

    internal static string Describe(int seed, int index, byte[] input)
    {
        var text = Latin1.Escape(input);
        return $"seed {seed}, input #{index} ({input.Length} bytes): {(text.Length > 800 ? text[..800] + "…" : text)}";
    }

    [TestCase(20251126)]
    [TestCase(7)]
    public void RequestHead_AnySegmentSplitOfAnyInput_SameOutcome(int seed)
    {
        foreach (var (index, input) in Generate(seed, r => Latin1.Bytes(MessageGenerator.RequestHead(r) + (r.Next(2) == 0 ? "{}" : ""))))
        {
            var limits = index % 2 == 0 ? RequestLimits.Default : s_small;
            var expected = RequestParse.Run(BufferShapes.OneSegment.Build(input), limits).Summary;
            foreach (var shape in ShapesFor(index))
            {
                var actual = RequestParse.Run(shape.Build(input), limits).Summary;

                Assert.That(actual, Is.EqualTo(expected), () => $"{shape}, {Describe(seed, index, input)}");
            }
        }
    }

    /// <summary>
    /// As a connection loop reads: the head is tried after every arrival. Until the head is decided every try
    /// returns false and consumes nothing; the first decision is the one the whole input gives at once.
    /// </summary>
    [TestCase(20251127)]
    [TestCase(8)]
    public void RequestHead_AnyArrivalsOfAnyInput_FirstDecisionSameAsOneRead(int seed)
    {
        var random = new Random(seed ^ 0x5EED);
        foreach (var (index, input) in Generate(seed, r => Latin1.Bytes(MessageGenerator.RequestHead(r) + "GET / HTTP/1.1\r\n")))
        {
            var limits = index % 2 == 0 ? RequestLimits.Default : s_small;
            var expected = RequestParse.Run(BufferShapes.OneSegment.Build(input), limits).Summary;
            var decision = "incomplete consumed=0";
            var arrived = 0;
            while (arrived < input.Length && decision == "incomplete consumed=0")
            {
                // Small reads first, where heads end; then larger ones, so a long input costs no more than a few.
                arrived = Math.Min(input.Length, arrived + random.Next(1, 24) + (arrived / 4));
                decision = RequestParse.Run(BufferShapes.RandomSplits(index).Build(input.AsSpan(0, arrived)), limits).Summary;
            }

            Assert.That(decision, Is.EqualTo(expected), () => $"after {arrived} bytes, {Describe(seed, index, input)}");
        }
    }

    [TestCase(20251128)]
    [TestCase(9)]
    public void ResponseHead_AnySegmentSplitOfAnyInput_SameOutcome(int seed)
    {
        foreach (var (index, input) in Generate(seed, r => Latin1.Bytes(MessageGenerator.ResponseHead(r) + (r.Next(2) == 0 ? "0\r\n\r\n" : ""))))
        {
            var expected = ResponseParse.Run(BufferShapes.OneSegment.Build(input)).Summary;
            foreach (var shape in ShapesFor(index))
            {
                Assert.That(ResponseParse.Run(shape.Build(input)).Summary, Is.EqualTo(expected), () => $"{shape}, {Describe(seed, index, input)}");
            }
        }
    }

    [TestCase(20251129)]
    [TestCase(10)]
    public void ChunkedBody_AnySegmentSplitOfAnyInput_SameRuns(int seed)
    {
        foreach (var (index, input) in Generate(seed, r => [.. MessageGenerator.ChunkedBody(r), .. "POST /next"u8]))
        {
            var expected = ChunkedWalk.Run(BufferShapes.OneSegment.Build(input)).Summary;
            foreach (var shape in ShapesFor(index))
            {
                Assert.That(ChunkedWalk.Run(shape.Build(input)).Summary, Is.EqualTo(expected), () => $"{shape}, {Describe(seed, index, input)}");
            }
        }
    }

    /// <summary>As a relay reads: the parser is kept between reads and each read brings back what it did not consume.</summary>
    [TestCase(20251130)]
    [TestCase(11)]
    public void ChunkedBody_AnyArrivalsOfAnyInput_SameRunsAsOneRead(int seed)
    {
        var random = new Random(seed ^ 0x5EED);
        foreach (var (index, input) in Generate(seed, r => MessageGenerator.ChunkedBody(r)))
        {
            var expected = ChunkedWalk.Run(BufferShapes.OneSegment.Build(input)).Summary;
            var cuts = Enumerable.Range(0, random.Next(1, 12)).Select(_ => random.Next(input.Length + 1)).Order().ToArray();

            var actual = ChunkedWalk.Incrementally(input, cuts).Summary;

            Assert.That(actual, Is.EqualTo(expected), () => $"cuts {string.Join(",", cuts)}, {Describe(seed, index, input)}");
        }
    }

    /// <summary>The generator is worth its name: most unmutated inputs are accepted, so the properties test parsing, not only refusal.</summary>
    [Test]
    public void Generator_ProducesMostlyValidMessages()
    {
        var random = new Random(1);
        var requests = Enumerable.Range(0, 200).Count(_ =>
            RequestParse.Run(BufferShapes.OneSegment.Build(MessageGenerator.RequestHead(random))).Result == ParseResult.Parsed);
        var responses = Enumerable.Range(0, 200).Count(_ =>
            ResponseParse.Run(BufferShapes.OneSegment.Build(MessageGenerator.ResponseHead(random))).Result == ParseResult.Parsed);
        var bodies = Enumerable.Range(0, 200).Count(_ =>
            ChunkedWalk.Run(BufferShapes.OneSegment.Build(MessageGenerator.ChunkedBody(random))).IsComplete);

        Assert.That((requests, responses, bodies), Is.EqualTo((200, 200, 200)));
    }
}
