using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>RFC 9112 §7.1: chunked framing walked without changing a byte, over every buffer shape and every arrival.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ChunkedParserTests
{
    private const string Ten = "0123456789";

    private static IEnumerable<TestCaseData> ValidBodies() => Cross(
        Case("one chunk", "5\r\nhello\r\n0\r\n\r\n", "Framing:3 Data:5 Framing:2 LastChunk:3 Trailer:2 | complete consumed=15"),
        Case("no chunk at all", "0\r\n\r\n", "LastChunk:3 Trailer:2 | complete consumed=5"),
        Case("upper-case hex", $"A\r\n{Ten}\r\n0\r\n\r\n", "Framing:3 Data:10 Framing:2 LastChunk:3 Trailer:2 | complete consumed=20"),
        Case("lower-case hex", $"a\r\n{Ten}\r\n0\r\n\r\n", "Framing:3 Data:10 Framing:2 LastChunk:3 Trailer:2 | complete consumed=20"),
        Case("mixed-case hex", $"fF\r\n{new string('x', 255)}\r\n0\r\n\r\n", "Framing:4 Data:255 Framing:2 LastChunk:3 Trailer:2 | complete consumed=266"),
        Case("leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "Framing:6 Data:5 Framing:2 LastChunk:5 Trailer:2 | complete consumed=20"),
        Case("fifteen digits", "000000000000005\r\nhello\r\n0\r\n\r\n", "Framing:17 Data:5 Framing:2 LastChunk:3 Trailer:2 | complete consumed=29"),
        Case("two chunks", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "Framing:3 Data:3 Framing:2 Framing:3 Data:2 Framing:2 LastChunk:3 Trailer:2 | complete consumed=20"),
        Case("extension", "5;name=value\r\nhello\r\n0\r\n\r\n", "Framing:14 Data:5 Framing:2 LastChunk:3 Trailer:2 | complete consumed=26"),
        Case("extension without value", "5;x\r\nhello\r\n0\r\n\r\n", "Framing:5 Data:5 Framing:2 LastChunk:3 Trailer:2 | complete consumed=17"),
        Case("extension with BWS", "5 \t; a = 1 ; b\r\nhello\r\n0\r\n\r\n", "Framing:16 Data:5 Framing:2 LastChunk:3 Trailer:2 | complete consumed=28"),
        Case("quoted extension", "5;a=\"x y;z\"\r\nhello\r\n0\r\n\r\n", "Framing:13 Data:5 Framing:2 LastChunk:3 Trailer:2 | complete consumed=25"),
        Case("extension on the last chunk", "0;done\r\n\r\n", "LastChunk:8 Trailer:2 | complete consumed=10"),
        Case("one trailer", "0\r\nX-T: v\r\n\r\n", "LastChunk:3 Trailer:8 Trailer:2 | complete consumed=13"),
        Case("two trailers", "1\r\na\r\n0\r\nX-A: 1\r\nX-B:\r\n\r\n", "Framing:3 Data:1 Framing:2 LastChunk:3 Trailer:8 Trailer:6 Trailer:2 | complete consumed=25"),
        Case("data that looks like framing", "7\r\n0\r\n\r\n\r\n\r\n0\r\n\r\n", "Framing:3 Data:7 Framing:2 LastChunk:3 Trailer:2 | complete consumed=17"),
        Case("data with every byte class", "6\r\n\0\r\n\u00ff\t \r\n0\r\n\r\n", "Framing:3 Data:6 Framing:2 LastChunk:3 Trailer:2 | complete consumed=16"),
        Case("next message after the end", "1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "Framing:3 Data:1 Framing:2 LastChunk:3 Trailer:2 | complete consumed=11"));

    [TestCaseSource(nameof(ValidBodies))]
    public void ValidBody_WalkedToItsEnd(string body, string runs, BufferShape shape)
    {
        Assert.That(ChunkedWalk.Run(body, shape).Summary, Is.EqualTo(runs));
    }

    [TestCaseSource(nameof(ValidBodies))]
    public void ValidBody_EveryIncompletePrefixNeedsMore(string body, string runs, BufferShape shape)
    {
        var bytes = Latin1.Bytes(body);
        var end = int.Parse(runs[(runs.LastIndexOf('=') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        for (var length = 0; length < end; length++)
        {
            var walk = ChunkedWalk.Run(shape.Build(bytes.AsSpan(0, length)));

            Assert.That((walk.Status, walk.IsComplete), Is.EqualTo((ChunkedStatus.NeedMore, false)), $"prefix of {length} bytes: {walk.Summary}");
        }
    }

    private static IEnumerable<TestCaseData> Arrivals() =>
        from body in new[] { "5\r\nhello\r\n0\r\n\r\n", "3;x=\"a\"\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: v\r\nX-U: w\r\n\r\nnext" }
        select new TestCaseData(body).SetArgDisplayNames(Latin1.Escape(Latin1.Bytes(body)));

    /// <summary>Data split anywhere, lines split anywhere: the same runs, the same end, whatever the reads were.</summary>
    [TestCaseSource(nameof(Arrivals))]
    public void BodyArrivingInTwoReadsSplitAnywhere_SameRunsAsInOneRead(string body)
    {
        var bytes = Latin1.Bytes(body);
        var whole = ChunkedWalk.Run(OneSegment.Build(bytes)).Summary;
        for (var cut = 0; cut <= bytes.Length; cut++)
        {
            Assert.That(ChunkedWalk.Incrementally(bytes, [cut]).Summary, Is.EqualTo(whole), $"cut at {cut}");
        }
    }

    [TestCaseSource(nameof(Arrivals))]
    public void BodyArrivingOneByteAtATime_SameRunsAsInOneRead(string body)
    {
        var bytes = Latin1.Bytes(body);

        var walk = ChunkedWalk.Incrementally(bytes, Enumerable.Range(1, bytes.Length - 1));

        Assert.That(walk.Summary, Is.EqualTo(ChunkedWalk.Run(OneSegment.Build(bytes)).Summary));
    }

    private static IEnumerable<TestCaseData> InvalidBodies() => Cross(
        Case("sixteen digits", "0000000000000005\r\nhello\r\n0\r\n\r\n"),
        Case("sixteen digits, huge", "FFFFFFFFFFFFFFFF\r\n"),
        Case("empty size line", "\r\nhello\r\n0\r\n\r\n"),
        Case("non-hex digit", "g\r\nhello\r\n0\r\n\r\n"),
        Case("0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"),
        Case("minus sign", "-5\r\nhello\r\n"),
        Case("plus sign", "+5\r\nhello\r\n"),
        Case("leading space", " 5\r\nhello\r\n"),
        Case("trailing space without extension", "5 \r\nhello\r\n"),
        Case("junk after the size", "5x\r\nhello\r\n"),
        Case("NUL in extension", "5;a\0\r\nhello\r\n"),
        Case("LF in quoted extension", "5;a=\"x\ny\"\r\nhello\r\n"),
        Case("bare LF after the size", "5\nhello\r\n0\r\n\r\n"),
        Case("bare CR after the size", "5\rhello\r\n0\r\n\r\n"),
        Case("bare LF alone as size line", "\nhello\r\n"),
        Case("missing CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n"),
        Case("data longer than its size", "5\r\nhello!\r\n0\r\n\r\n"),
        Case("bare LF after data", "5\r\nhello\n0\r\n\r\n"),
        Case("bare CR after data", "5\r\nhello\r0\r\n\r\n"),
        Case("LF CR after data", "5\r\nhello\n\r0\r\n\r\n"),
        Case("malformed trailer", "0\r\nbad trailer\r\n\r\n"),
        Case("trailer with space before colon", "0\r\nX-T : v\r\n\r\n"),
        Case("obs-fold in trailers", "0\r\nX-T: v\r\n folded\r\n\r\n"),
        Case("trailer ending in bare LF", "0\r\nX-T: v\n\r\n"),
        Case("bare LF ending the trailers", "0\r\n\n"),
        Case("NUL in a trailer", "0\r\nX-T: a\0b\r\n\r\n"),
        Case("size line over the limit", "1;" + new string('a', ChunkedParser.MaxSizeLineLength) + "\r\nx\r\n0\r\n\r\n"),
        Case("size line one byte over the limit", "1;" + new string('a', ChunkedParser.MaxSizeLineLength - 3) + "\r\nx\r\n0\r\n\r\n"),
        Case("trailer section over the limit", "0\r\n" + string.Concat(Enumerable.Repeat("X-T: " + new string('v', 1000) + "\r\n", 40)) + "\r\n"));

    [TestCaseSource(nameof(InvalidBodies))]
    public void MalformedFraming_Invalid(string body, BufferShape shape)
    {
        var walk = ChunkedWalk.Run(body, shape);

        Assert.That((walk.Status, walk.IsComplete), Is.EqualTo((ChunkedStatus.Invalid, false)), walk.Summary);
    }

    private static IEnumerable<TestCaseData> UnfinishedOverLimit() => Cross(
        Case("size line without its end", "1;" + new string('a', ChunkedParser.MaxSizeLineLength + 10)),
        Case("trailer without its end", "0\r\nX-T: " + new string('v', ChunkedParser.MaxTrailerSize + 10)));

    /// <summary>A line already longer than its limit is refused at once, never waited for.</summary>
    [TestCaseSource(nameof(UnfinishedOverLimit))]
    public void UnfinishedLineOverTheLimit_InvalidWithoutWaiting(string body, BufferShape shape)
    {
        Assert.That(ChunkedWalk.Run(body, shape).Status, Is.EqualTo(ChunkedStatus.Invalid));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void SizeLineAtTheLimit_Accepted(BufferShape shape)
    {
        // The limit counts the whole line, CRLF included.
        var sizeLine = "1;" + new string('a', ChunkedParser.MaxSizeLineLength - 4) + "\r\n";

        var walk = ChunkedWalk.Run(sizeLine + "x\r\n0\r\n\r\n", shape);

        Assert.That(walk.Summary, Is.EqualTo($"Framing:{sizeLine.Length} Data:1 Framing:2 LastChunk:3 Trailer:2 | complete consumed={sizeLine.Length + 8}"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void ChunkLargerThanTheBuffer_DataConsumedAsFarAsPresent(BufferShape shape)
    {
        var walk = ChunkedWalk.Run("FFFFFFFFFFFFFFF\r\nabc", shape);

        Assert.That(walk.Summary, Is.EqualTo("Framing:17 Data:3 | NeedMore consumed=20"));
    }

    private static IEnumerable<TestCaseData> PlausiblePrefixes() => Cross(
        Case("nothing yet", "", true),
        Case("a partial size line", "1f;ex", true),
        Case("a partial chunk", "5\r\nhel", true),
        Case("a whole body", "5\r\nhello\r\n0\r\n\r\n", true),
        Case("a whole body and the next message", "0\r\n\r\nGET / HTTP/1.1\r\n", true),
        Case("a partial trailer", "0\r\nX-T: ", true),
        Case("a malformed size", "x\r\n", false),
        Case("a missing CRLF after data", "1\r\nabc", false),
        Case("a malformed trailer", "0\r\nno colon\r\n", false),
        Case("an unfinished size line over the limit", "1;" + new string('a', ChunkedParser.MaxSizeLineLength + 1), false));

    /// <summary>What the relay checks on body bytes that arrive with the response head (a 502 while nothing was sent yet).</summary>
    [TestCaseSource(nameof(PlausiblePrefixes))]
    public void BytesPresent_PlausiblePrefixOnlyWithoutAFramingError(string body, bool plausible, BufferShape shape)
    {
        Assert.That(ChunkedParser.IsPlausiblePrefix(shape.Build(body)), Is.EqualTo(plausible));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void PartialSizeLine_LeftUnconsumed(BufferShape shape)
    {
        var walk = ChunkedWalk.Run("1\r\na\r\n1f;ext=", shape);

        Assert.That(walk.Summary, Is.EqualTo("Framing:3 Data:1 Framing:2 | NeedMore consumed=6"));
    }
}
