using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>
/// Mutated and random inputs get a result or the typed rejection, never another exception; the parsers never
/// accept or wait for more than their limits allow, and every call returns (bounded loops). The invariants of the
/// fuzz harness (README.md#fuzzing), with fixed seeds: a failure names the seed and input and reproduces.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class AdversarialInputTests
{
    private const int Inputs = 3000;
    private const int ResponseMaxStatusLine = 8 * 1024;
    private const int ResponseMaxHead = 64 * 1024;

    private static readonly RequestLimits s_small = new() { MaxRequestLineSize = 64, MaxHeadSize = 256, MaxHeaderCount = 8 };

    /// <summary>Mutations of valid messages, and now and then bytes at random.</summary>
    private static IEnumerable<(int Index, byte[] Input)> Generate(int seed, Func<Random, byte[]> valid)
    {
        var random = new Random(seed);
        for (var i = 0; i < Inputs; i++)
        {
            if (random.Next(20) == 0)
            {
                var noise = new byte[random.Next(600)];
                random.NextBytes(noise);
                yield return (i, noise);
                continue;
            }

            yield return (i, MessageGenerator.Mutate(random, valid(random)));
        }
    }

    /// <summary>
    /// The most bytes a request parser may hold while returning "read more": leading empty lines up to the request
    /// line limit, then a first line within its limit (and its CRLF) or a head within its limit (and a CR).
    /// </summary>
    private static long MostBytesWaitedFor(RequestLimits limits) =>
        limits.MaxRequestLineSize + Math.Max(limits.MaxRequestLineSize + 2, limits.MaxHeadSize + 1);

    [TestCase(31)]
    [TestCase(20251126)]
    public void RequestHead_MutatedInputs_OnlyAResultOrTheTypedRejectionWithinLimits(int seed)
    {
        var outcomes = new HashSet<string>();
        foreach (var (index, input) in Generate(seed, r => Latin1.Bytes(MessageGenerator.RequestHead(r) + (r.Next(2) == 0 ? "{}" : ""))))
        {
            var limits = index % 3 == 0 ? RequestLimits.Default : s_small;
            Func<string> what = () => BufferSplitPropertyTests.Describe(seed, index, input);
            RequestParse parse;
            try
            {
                parse = RequestParse.Run(BufferShapes.RandomSplits(index).Build(input), limits);
            }
            catch (Exception e)
            {
                Assert.Fail($"{e.GetType().Name}: {e.Message}\n{what()}\n{e.StackTrace}");
                throw;
            }

            outcomes.Add(parse.Result == ParseResult.Rejected ? parse.Reason.ToString() : parse.Result.ToString());
            switch (parse.Result)
            {
                case ParseResult.Parsed:
                    AssertWithinLimits(parse, input, limits, what);
                    break;
                case ParseResult.Incomplete:
                    Assert.That(input.LongLength, Is.LessThanOrEqualTo(MostBytesWaitedFor(limits)), () => $"waits for more beyond its limits, {what()}");
                    break;
                case ParseResult.Rejected:
                    Assert.That(RequestRejections.StatusCode(parse.Reason), Is.AnyOf(400, 414, 417, 431, 501, 505), what);
                    break;
            }

            // The decision is made within the limits: bytes past them cannot change it.
            var decidedBy = MostBytesWaitedFor(limits) + 1;
            if (input.Length > decidedBy)
            {
                var truncated = RequestParse.Run(BufferShapes.OneSegment.Build(input.AsSpan(0, (int)decidedBy)), limits);
                Assert.That(truncated.Summary, Is.EqualTo(parse.Summary), () => $"bytes past the limits changed the decision, {what()}");
            }
        }

        // The inputs reach every branch that matters, so a passing run means something.
        Assert.That(outcomes, Is.SupersetOf(new[]
        {
            "Parsed", "Incomplete", "HeadersTooLarge", "RequestLineTooLong", "InvalidRequestLine", "InvalidHeaderField", "InvalidLineEnding",
        }));
    }

    private static void AssertWithinLimits(RequestParse parse, byte[] input, RequestLimits limits, Func<string> what)
    {
        var head = parse.Head;
        var bytes = head.Bytes;
        var firstLine = bytes.IndexOf((byte)'\n') - 1;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(parse.Consumed, Is.GreaterThan(0), what);
            Assert.That(bytes.Length, Is.LessThanOrEqualTo(limits.MaxHeadSize), what);
            Assert.That(firstLine, Is.LessThanOrEqualTo(limits.MaxRequestLineSize), what);
            Assert.That(head.Fields.Length, Is.LessThanOrEqualTo(limits.MaxHeaderCount), what);
            Assert.That(bytes.SequenceEqual(input.AsSpan((int)parse.Consumed - bytes.Length, bytes.Length)), Is.True, what);
        }

        // What the connection loop does next with a parsed head only returns or throws the typed rejection too.
        Assert.That(parse.Framing(), Is.Not.Null, what);
        try
        {
            RequestTarget.Map(head.Target);
        }
        catch (RequestRejectionException)
        {
        }
    }

    /// <summary>A head over the size limit is refused as too large whatever it holds, and never parsed.</summary>
    [TestCase(41)]
    public void OversizedHeads_AlwaysRejectedAsTooLarge(int seed)
    {
        var random = new Random(seed);
        for (var index = 0; index < 300; index++)
        {
            var limits = index % 10 == 0 ? RequestLimits.Default : s_small;
            var head = MessageGenerator.RequestHead(random).TrimStart('\r', '\n');
            var padding = random.Next(2) == 0
                ? $"X-Pad: {new string('p', (int)limits.MaxHeadSize)}\r\n"
                : string.Concat(Enumerable.Range(0, (int)limits.MaxHeaderCount + 1).Select(i => $"X-{i}: {new string('v', random.Next(1, 9))}\r\n"));
            var input = Latin1.Bytes(head.Insert(head.IndexOf('\n', StringComparison.Ordinal) + 1, padding));
            var shape = random.Next(2) == 0 ? BufferShapes.RandomSplitsWithEmptySegments(index) : BufferShapes.RandomSplits(index);

            var parse = RequestParse.Run(shape.Build(input), limits);

            Assert.That(parse.Summary, Is.EqualTo("rejected HeadersTooLarge consumed=0"), () => BufferSplitPropertyTests.Describe(seed, index, input));
        }
    }

    [TestCase(51)]
    [TestCase(20251126)]
    public void ResponseHead_MutatedInputs_OnlyAResultOrInvalidResponseWithinLimits(int seed)
    {
        var outcomes = new HashSet<ParseResult>();
        foreach (var (index, input) in Generate(seed, r => Latin1.Bytes(MessageGenerator.ResponseHead(r))))
        {
            Func<string> what = () => BufferSplitPropertyTests.Describe(seed, index, input);
            ResponseParse parse;
            string framing;
            try
            {
                parse = ResponseParse.Run(BufferShapes.RandomSplits(index).Build(input));
                framing = parse.Result == ParseResult.Parsed ? parse.Framing(RequestMethod.Get) + parse.Framing(RequestMethod.Head) : "";
            }
            catch (Exception e)
            {
                Assert.Fail($"{e.GetType().Name}: {e.Message}\n{what()}\n{e.StackTrace}");
                throw;
            }

            outcomes.Add(parse.Result);
            switch (parse.Result)
            {
                case ParseResult.Parsed:
                    using (Assert.EnterMultipleScope())
                    {
                        Assert.That(parse.Consumed, Is.InRange(1, ResponseMaxHead), what);
                        Assert.That(parse.Head.StatusCode, Is.InRange(100, 999), what);
                        Assert.That(parse.Head.StatusLine.Length, Is.LessThanOrEqualTo(ResponseMaxStatusLine), what);
                        Assert.That(framing, Is.Not.Empty, what);
                    }

                    break;
                case ParseResult.Incomplete:
                    Assert.That(input.Length, Is.LessThanOrEqualTo(ResponseMaxHead + 1), () => $"waits for more beyond its limits, {what()}");
                    break;
            }
        }

        Assert.That(outcomes, Is.EquivalentTo(Enum.GetValues<ParseResult>()));
    }

    [TestCase(61)]
    [TestCase(20251126)]
    public void ChunkedBody_MutatedInputs_OnlyRunsNeedMoreOrInvalidWithinLimits(int seed)
    {
        var outcomes = new HashSet<string>();
        foreach (var (index, input) in Generate(seed, MessageGenerator.ChunkedBody))
        {
            Func<string> what = () => BufferSplitPropertyTests.Describe(seed, index, input);
            ChunkedWalk walk;
            try
            {
                // The walk asserts termination: at most one call per byte, each run consuming what it reports.
                walk = ChunkedWalk.Run(BufferShapes.RandomSplits(index).Build(input));
            }
            catch (Exception e) when (e is not AssertionException)
            {
                Assert.Fail($"{e.GetType().Name}: {e.Message}\n{what()}\n{e.StackTrace}");
                throw;
            }

            outcomes.Add(walk.IsComplete ? "complete" : walk.Status.ToString());
            using (Assert.EnterMultipleScope())
            {
                Assert.That(walk.Consumed, Is.LessThanOrEqualTo(input.Length), what);
                Assert.That(walk.Runs.Where(r => r.Run is ChunkRun.Framing or ChunkRun.LastChunk).All(r => r.Length <= ChunkedParser.MaxSizeLineLength + 1), what);
                Assert.That(walk.Runs.Where(r => r.Run is ChunkRun.Trailer).Sum(r => r.Length), Is.LessThanOrEqualTo(ChunkedParser.MaxTrailerSize + 1), what);
                if (walk.Status == ChunkedStatus.NeedMore && !walk.IsComplete)
                {
                    // Only a line shorter than its limit is waited for; data is consumed as it comes.
                    Assert.That(input.Length - walk.Consumed, Is.LessThanOrEqualTo(ChunkedParser.MaxTrailerSize), () => $"waits for more beyond its limits, {what()}");
                }
            }
        }

        Assert.That(outcomes, Is.EquivalentTo(new[] { "complete", "NeedMore", "Invalid" }));
    }
}
