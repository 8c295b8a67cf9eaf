using System.Buffers;
using System.Text;
using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Http1;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;
using static OllamaSocketProxy.Tests.Listener.Usage.UsageBodies;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>What <see cref="UsageReader"/> makes of answers cut short, malformed or of odd shapes: unknown counts, never an exception.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class UsageReaderTests
{
    private const string OllamaFinal = """{"model":"llama3.2","done":true,"prompt_eval_count":26,"eval_count":282}""";

    private static IEnumerable<TestCaseData> UnknownOllamaLines() => Cross(
        Case("count as a string", """{"done":true,"prompt_eval_count":"26","eval_count":282}"""),
        Case("count as a fraction", """{"done":true,"prompt_eval_count":26.0,"eval_count":282}"""),
        Case("count with an exponent", """{"done":true,"prompt_eval_count":26,"eval_count":2e2}"""),
        Case("negative count", """{"done":true,"prompt_eval_count":-26,"eval_count":282}"""),
        Case("count beyond a long", """{"done":true,"prompt_eval_count":99999999999999999999,"eval_count":1}"""),
        Case("count null", """{"done":true,"prompt_eval_count":null,"eval_count":1}"""),
        Case("count as an object", """{"done":true,"prompt_eval_count":{"n":26},"eval_count":1}"""),
        Case("trailing comma", """{"done":true,"prompt_eval_count":26,"eval_count":282,}"""),
        Case("missing comma", """{"done":true "prompt_eval_count":26}"""),
        Case("missing colon", """{"done" true,"prompt_eval_count":26}"""),
        Case("name without quotes", """{done:true,"prompt_eval_count":26}"""),
        Case("unterminated object", """{"done":true,"prompt_eval_count":26,"eval_count":282"""),
        Case("one closing brace too many", """{"done":true,"prompt_eval_count":26,"eval_count":282}}"""),
        Case("bracket that closes nothing", """{"done":true,"prompt_eval_count":26,"eval_count":282]"""),
        Case("garbage after the object", """{"done":true,"prompt_eval_count":26,"eval_count":282} x"""),
        Case("second object on the line", """{"done":true,"prompt_eval_count":26}{"done":true,"eval_count":2}"""),
        Case("misspelled literal", """{"done":tru,"prompt_eval_count":26}"""),
        Case("leading zero", """{"done":true,"prompt_eval_count":026}"""),
        Case("lone minus", """{"done":true,"prompt_eval_count":-,"eval_count":1}"""),
        Case("dot without digits", """{"done":true,"eval_count":1.}"""),
        Case("invalid escape", """{"done":true,"eval_count":1,"s":"\x"}"""),
        Case("invalid unicode escape", """{"done":true,"eval_count":1,"s":"\u12G4"}"""),
        Case("raw control character in a string", "{\"done\":true,\"eval_count\":1,\"s\":\"a\tb\"}"),
        Case("top-level array", """[{"done":true,"prompt_eval_count":26,"eval_count":282}]"""),
        Case("counts one level down", """{"message":{"done":true,"prompt_eval_count":26,"eval_count":282}}"""),
        Case("escaped name", """{"d\u006fne":true}"""),
        Case("name longer than any count's", """{"prompt_eval_count_total":26}"""),
        Case("done false and no counts", """{"done":false}"""),
        Case("an error line", """{"error":"model 'x' not found"}"""),
        Case("empty line", ""),
        Case("deeper than the limit", new string('[', 300) + new string(']', 300)));

    private static IEnumerable<TestCaseData> UnknownOpenAiEvents() => Cross(
        Case("count as a string", """data: {"usage":{"prompt_tokens":"5","completion_tokens":1}}"""),
        Case("usage null", """data: {"choices":[],"usage":null}"""),
        Case("usage an array", """data: {"usage":[5,1]}"""),
        Case("usage empty", """data: {"usage":{}}"""),
        Case("usage without prompt or completion", """data: {"usage":{"total_tokens":6}}"""),
        Case("usage in a choice", """data: {"choices":[{"usage":{"prompt_tokens":5,"completion_tokens":1}}]}"""),
        Case("usage under another object", """data: {"message":{"usage":{"prompt_tokens":5,"completion_tokens":1}}}"""),
        Case("usage cut short, then done", "data: {\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}\n\ndata: [DONE]"),
        Case("another field name", """date: {"usage":{"prompt_tokens":5,"completion_tokens":1}}"""),
        Case("field name in capitals", """DATA: {"usage":{"prompt_tokens":5,"completion_tokens":1}}"""),
        Case("value over two data lines", "data: {\"usage\":\ndata: {\"prompt_tokens\":5,\"completion_tokens\":1}}"),
        Case("comment line", """: {"usage":{"prompt_tokens":5,"completion_tokens":1}}"""),
        Case("only done", "data: [DONE]"));

    [TestCaseSource(nameof(UnknownOllamaLines))]
    public void OllamaLineOfOddShapeOrInvalid_CountsUnknown(string line, BufferShape shape)
    {
        var body = Encoding.UTF8.GetBytes("{\"done\":false}\n" + line + "\n");

        Assert.That(Read(UsageFormat.OllamaJsonLines, false, [shape.Build(body)]), Is.EqualTo(((long?)null, (long?)null)));
    }

    [TestCaseSource(nameof(UnknownOllamaLines))]
    public void OllamaAnswerOfOddShapeOrInvalid_CountsUnknown(string line, BufferShape shape)
    {
        Assert.That(Read(UsageFormat.OllamaJson, false, [shape.Build(Encoding.UTF8.GetBytes(line))]), Is.EqualTo(((long?)null, (long?)null)));
    }

    [TestCaseSource(nameof(UnknownOpenAiEvents))]
    public void OpenAiEventOfOddShapeOrInvalid_CountsUnknown(string events, BufferShape shape)
    {
        var body = Encoding.UTF8.GetBytes("data: {\"choices\":[]}\n\n" + events + "\n\n");

        Assert.That(Read(UsageFormat.OpenAiEventStream, false, [shape.Build(body)]), Is.EqualTo(((long?)null, (long?)null)));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void InvalidLineBeforeTheFinalOne_FinalCounts(BufferShape shape)
    {
        var body = Encoding.UTF8.GetBytes("{\"done\":true,\"eval_count\":1,}\nnot json\n" + OllamaFinal + "\n");

        Assert.That(Read(UsageFormat.OllamaJsonLines, false, [shape.Build(body)]), Is.EqualTo(((long?)26, (long?)282)));
    }

    /// <summary>Not what Ollama sends, but what the rule says: a top-level count is an answer's count, "done" or not.</summary>
    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void OllamaLineWithCountsAndNoDone_Counts(BufferShape shape)
    {
        var body = Encoding.UTF8.GetBytes("{\"done\":false}\n{\"prompt_eval_count\" : 5}\n{\"error\":\"x\"}\n");

        Assert.That(Read(UsageFormat.OllamaJsonLines, false, [shape.Build(body)]), Is.EqualTo(((long?)5, (long?)0)));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void OllamaDoneWithWhitespaceAndNoCounts_CountsZero(BufferShape shape)
    {
        var body = Encoding.UTF8.GetBytes("{\"done\":false}\n{\"done\" \t:\r true, \"content\":\"\\\"done\\\": false\"}\n{\"error\":\"x\"}\n");

        Assert.That(Read(UsageFormat.OllamaJsonLines, false, [shape.Build(body)]), Is.EqualTo(((long?)0, (long?)0)));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void DataWithoutSpaceAfterTheColon_Counts(BufferShape shape)
    {
        var body = Encoding.UTF8.GetBytes("data:{\"usage\":{\"prompt_tokens\":5}}\n\n");

        Assert.That(Read(UsageFormat.OpenAiEventStream, false, [shape.Build(body)]), Is.EqualTo(((long?)5, (long?)0)));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void NestingUpToTheLimit_Counts(BufferShape shape)
    {
        var deep = new string('[', UsageJsonScannerDepth - 1) + new string(']', UsageJsonScannerDepth - 1);
        var body = Encoding.UTF8.GetBytes($"{{\"deep\":{deep},\"done\":true,\"eval_count\":3}}\n");

        Assert.That(Read(UsageFormat.OllamaJsonLines, false, [shape.Build(body)]), Is.EqualTo(((long?)0, (long?)3)));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void LastLineWithoutLineFeed_Counts(BufferShape shape)
    {
        var body = Encoding.UTF8.GetBytes("{\"done\":false}\n" + OllamaFinal);

        Assert.That(Read(UsageFormat.OllamaJsonLines, false, [shape.Build(body)]), Is.EqualTo(((long?)26, (long?)282)));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void LaterUsageReplacesEarlier_LastCounts(BufferShape shape)
    {
        var body = Encoding.UTF8.GetBytes(
            "data: {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\ndata: {\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}\n\n");

        Assert.That(Read(UsageFormat.OpenAiEventStream, false, [shape.Build(body)]), Is.EqualTo(((long?)3, (long?)4)));
    }

    /// <summary>
    /// An answer cut inside the value that holds the counts (the upstream gone mid-stream) counts nothing: every cut
    /// from the value's first byte to just before its closing brace, chunked or not.
    /// </summary>
    [TestCase("Ollama /api/chat stream", "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T19:22:45")]
    [TestCase("Ollama /api/chat answer", "{\"model\"")]
    [TestCase("Ollama /api/embed answer", "{\"model\"")]
    [TestCase("OpenAI chat stream with usage", "{\"id\":\"chatcmpl-623\",\"object\":\"chat.completion.chunk\",\"created\":1739470000,\"model\":\"llama3.2\",\"system_fingerprint\":\"fp_ollama\",\"choices\":[],")]
    [TestCase("OpenAI chat answer", "{\"id\"")]
    [TestCase("OpenAI responses stream", "{\"response\":{\"created_at\":1752000000,\"id\":\"resp_123456\",\"model\":\"qwen3:8b\",\"object\":\"response\",\"output\":[{")]
    [TestCase("Anthropic messages answer", "{\"id\"")]
    public void AnswerCutInsideTheCountingValue_CountsUnknown(string sampleName, string valueStart)
    {
        var sample = UsageSamples.All.Single(s => s.Name == sampleName);
        var start = sample.Body.LastIndexOf(valueStart, StringComparison.Ordinal);
        var end = ClosingBrace(sample.Body, start);
        Assert.That((start, end), Is.Not.EqualTo((-1, -1)));

        var known = new List<string>();
        for (var cut = start; cut <= end; cut++)
        {
            var body = sample.Body[..cut];
            foreach (var chunking in Enum.GetValues<Chunking>())
            {
                // A chunked body cut short: the chunks so far, no last chunk.
                var wire = Encode(body, chunking);
                wire = IsChunked(chunking) ? WithoutLastChunk(wire) : wire;
                var counts = Read(sample.Format, IsChunked(chunking), RandomReads(wire, cut));
                if (counts != (null, null))
                {
                    known.Add($"cut at {cut}, {chunking}: {counts}");
                }
            }
        }

        Assert.That(known, Is.Empty);
    }

    [Test]
    public void AnthropicStreamCutInMessageDelta_InputKnownOutputUnknown()
    {
        var sample = UsageSamples.AnthropicStream;
        var start = sample.Body.IndexOf("{\"type\": \"message_delta\"", StringComparison.Ordinal);
        var end = ClosingBrace(sample.Body, start);
        for (var cut = start; cut <= end; cut++)
        {
            var wire = WithoutLastChunk(Encode(sample.Body[..cut], Chunking.PerLine));

            Assert.That(Read(sample.Format, true, RandomReads(wire, cut)), Is.EqualTo(((long?)25, (long?)null)), $"cut at {cut}");
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void AnthropicDeltaWithOddOutput_InputStillKnown(BufferShape shape)
    {
        var body = Encoding.UTF8.GetBytes(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
            + "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":\"15\"}}\n\n");

        Assert.That(Read(UsageFormat.AnthropicEventStream, false, [shape.Build(body)]), Is.EqualTo(((long?)25, (long?)null)));
    }

    /// <summary>No bound on a line: the reader keeps fixed state, so a final object of a mebibyte is read like a short one.</summary>
    [Test]
    public void FinalLineOfAMebibyte_CountedWithoutBuffering()
    {
        var embedding = string.Join(",", Enumerable.Range(0, 80_000).Select(i => (i * 0.000123456789).ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        var answer = $"{{\"model\":\"all-minilm\",\"embeddings\":[[{embedding}]],\"total_duration\":14143917,\"prompt_eval_count\":4096}}\n";
        var text = new string('x', 1 << 20);
        var stream = $"{{\"done\":false,\"message\":{{\"content\":\"{text}\"}}}}\n{{\"message\":{{\"content\":\"{text}\"}},\"done\":true,\"prompt_eval_count\":7,\"eval_count\":262144}}\n";
        Assert.That(answer.Length, Is.GreaterThan(1 << 20));

        var reader = new UsageReader();
        var embed = Reads(Encode(answer, Chunking.None), 4096);
        var streamed = Reads(Encode(stream, Chunking.PerLine), 16 * 1024);
        ReadAll(reader, UsageFormat.OllamaJson, false, embed);
        ReadAll(reader, UsageFormat.OllamaJsonLines, true, streamed);

        // The fewest bytes of three passes: the runtime's own work on this thread (tiered JIT promotion) can show up in one.
        (long? Prompt, long? Completion) embedCounts = default, streamCounts = default;
        var allocated = long.MaxValue;
        for (var pass = 0; pass < 3 && allocated != 0; pass++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            embedCounts = ReadAll(reader, UsageFormat.OllamaJson, false, embed);
            streamCounts = ReadAll(reader, UsageFormat.OllamaJsonLines, true, streamed);
            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.That((embedCounts, streamCounts, allocated), Is.EqualTo((((long?)4096, (long?)0), ((long?)7, (long?)262144), 0L)));
    }

    private static IEnumerable<TestCaseData> InvalidChunkedBodies() => Cross(
        Case("size that is not hex", "zz\r\n" + OllamaFinal + "\n\r\n0\r\n\r\n"),
        Case("data longer than its size", "3\r\n" + OllamaFinal + "\n\r\n0\r\n\r\n"),
        Case("bare LF after the size", $"{OllamaFinal.Length + 1:x}\n" + OllamaFinal + "\n\r\n0\r\n\r\n"),
        Case("size line beyond the limit", "1;" + new string('x', 5000) + "\r\na\r\n0\r\n\r\n"),
        Case("counts, then broken framing", $"{OllamaFinal.Length + 1:x}\r\n" + OllamaFinal + "\n\r\nq\r\n"));

    [TestCaseSource(nameof(InvalidChunkedBodies))]
    public void InvalidChunkFraming_CountsUnknown(string wire, BufferShape shape)
    {
        Assert.That(Read(UsageFormat.OllamaJsonLines, true, [shape.Build(wire)]), Is.EqualTo(((long?)null, (long?)null)));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void BytesAfterTheLastChunk_Ignored(BufferShape shape)
    {
        var wire = Encode(OllamaFinal + "\n", Chunking.PerLine).Concat(Encoding.ASCII.GetBytes("5\r\n{\"done\":true,\"eval_count\":1}\n\r\n")).ToArray();

        Assert.That(Read(UsageFormat.OllamaJsonLines, true, [shape.Build(wire)]), Is.EqualTo(((long?)26, (long?)282)));
    }

    [Test]
    public void FormatNone_ReadsNothing()
    {
        var wire = Encode(OllamaFinal + "\n", Chunking.None);

        Assert.That(Read(UsageFormat.None, false, [Whole(wire)]), Is.EqualTo(((long?)null, (long?)null)));
    }

    [Test]
    public void Reset_ForgetsTheLastResponse()
    {
        var reader = new UsageReader();
        ReadAll(reader, UsageFormat.OllamaJsonLines, false, [Whole(Encoding.UTF8.GetBytes(OllamaFinal + "\n"))]);

        // The next response ends within a chunk-size line and mid-value: nothing of either may leak.
        var counts = ReadAll(reader, UsageFormat.OllamaJsonLines, true, [Whole("1"u8)]);
        var afterCut = ReadAll(reader, UsageFormat.OllamaJsonLines, false, [Whole("{\"done\":true,\"eval_"u8)]);
        var next = ReadAll(reader, UsageFormat.OpenAiEventStream, false, [Whole("data: {\"usage\":{\"prompt_tokens\":2}}\n\n"u8)]);

        Assert.That((counts, afterCut, next), Is.EqualTo((((long?)null, (long?)null), ((long?)null, (long?)null), ((long?)2, (long?)0))));
    }

    [Test]
    public void TryGetCounts_DoesNotChangeWhatItReports()
    {
        var reader = new UsageReader();
        reader.Reset(UsageFormat.OllamaJsonLines, false);
        reader.Observe(Whole(Encoding.UTF8.GetBytes(OllamaFinal)));
        var first = reader.TryGetCounts(out var prompt, out var completion);
        var second = reader.TryGetCounts(out var prompt2, out var completion2);

        Assert.That((first, prompt, completion), Is.EqualTo((second, prompt2, completion2)).And.EqualTo((true, (long?)26, (long?)282)));
    }

    /// <summary>Random bytes and damaged samples, in every format, chunked or not: never an exception.</summary>
    [Test]
    public void RandomAndDamagedInput_NeverThrows()
    {
        var random = new Random(20261206);
        var reader = new UsageReader();
        var formats = Enum.GetValues<UsageFormat>();
        for (var round = 0; round < 3000; round++)
        {
            var format = formats[random.Next(formats.Length)];
            var chunked = random.Next(2) == 0;
            byte[] wire;
            if (round % 2 == 0)
            {
                wire = new byte[random.Next(0, 400)];
                random.NextBytes(wire);
            }
            else
            {
                var sample = UsageSamples.All[random.Next(UsageSamples.All.Count)];
                wire = Damage(Encode(sample.Body, chunked ? Chunking.PerLine : Chunking.None), random);
            }

            Assert.DoesNotThrow(() => ReadAll(reader, format, chunked, RandomReads(wire, round)), $"round {round}");
        }
    }

    private static int UsageJsonScannerDepth => OllamaSocketProxy.Listener.Usage.UsageJsonScanner.MaxDepth;

    private static (long? Prompt, long? Completion) ReadAll(UsageReader reader, UsageFormat format, bool chunked, IEnumerable<ReadOnlySequence<byte>> reads) =>
        ReadAll(reader, format, chunked, reads.ToList());

    /// <summary>Allocates nothing of its own: the list's enumerator is a struct.</summary>
    private static (long? Prompt, long? Completion) ReadAll(UsageReader reader, UsageFormat format, bool chunked, List<ReadOnlySequence<byte>> reads)
    {
        reader.Reset(format, chunked);
        foreach (var read in reads)
        {
            reader.Observe(read);
        }

        reader.TryGetCounts(out var prompt, out var completion);
        return (prompt, completion);
    }

    /// <summary>A chunked body that stops after its last data chunk, as when the upstream goes away.</summary>
    private static byte[] WithoutLastChunk(byte[] wire)
    {
        var lastChunk = wire.AsSpan().LastIndexOf("\r\n0\r\n"u8);
        return lastChunk < 0 ? [] : wire[..(lastChunk + 2)];
    }

    private static List<ReadOnlySequence<byte>> Reads(byte[] wire, int size)
    {
        var reads = new List<ReadOnlySequence<byte>>();
        for (var i = 0; i < wire.Length; i += size)
        {
            reads.Add(new ReadOnlySequence<byte>(wire, i, Math.Min(size, wire.Length - i)));
        }

        return reads;
    }

    /// <summary>Where the object that starts at <paramref name="start"/> closes (strings and escapes skipped).</summary>
    private static int ClosingBrace(string text, int start)
    {
        var depth = 0;
        var inString = false;
        for (var i = start; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }
            }
            else if (c == '"')
            {
                inString = true;
            }
            else if (c is '{' or '[')
            {
                depth++;
            }
            else if (c is '}' or ']' && --depth == 0)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Bytes that change what JSON means: structure, quotes, escapes, line ends, number and literal parts.</summary>
    private static ReadOnlySpan<byte> JsonBytes => "{}[]\",:\\\r\n 0-.etu"u8;

    private static byte[] Damage(byte[] wire, Random random)
    {
        var bytes = wire.ToList();
        for (var edits = random.Next(1, 6); edits > 0 && bytes.Count > 0; edits--)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(3))
            {
                case 0:
                    bytes.RemoveAt(at);
                    break;
                case 1:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                default:
                    bytes[at] = JsonBytes[random.Next(JsonBytes.Length)];
                    break;
            }
        }

        return [.. bytes];
    }
}
