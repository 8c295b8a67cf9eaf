using System.Buffers;
using System.Text;
using System.Text.Json;
using OllamaSocketProxy.Listener.Usage;
using static OllamaSocketProxy.Tests.Listener.Usage.UsageBodies;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>
/// The reader's fixed-state walk against System.Text.Json on damaged answers: it takes counts from exactly the
/// answers a JSON parser accepts, and the same counts.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class UsageReaderOracleTests
{
    private static readonly JsonDocumentOptions s_options = new() { MaxDepth = UsageJsonScanner.MaxDepth };

    private static IEnumerable<TestCaseData> JsonAnswers() =>
        from sample in UsageSamples.All
        where sample.Format is UsageFormat.OllamaJson or UsageFormat.OpenAiJson or UsageFormat.AnthropicJson
        select new TestCaseData(sample).SetArgDisplayNames(sample.Name);

    [TestCaseSource(nameof(JsonAnswers))]
    public void DamagedAnswer_CountsAsAJsonParserReadsThem(UsageSample sample)
    {
        AssertDamagedAnswersAgree(sample, static (damaged, round) => RandomReads(damaged, round));
    }

    /// <summary>The same with the whole answer in one read, as most answers come.</summary>
    [TestCaseSource(nameof(JsonAnswers))]
    public void DamagedAnswerInOneRead_CountsAsAJsonParserReadsThem(UsageSample sample)
    {
        AssertDamagedAnswersAgree(sample, static (damaged, _) => [new ReadOnlySequence<byte>(damaged)]);
    }

    private static void AssertDamagedAnswersAgree(UsageSample sample, Func<byte[], int, IEnumerable<ReadOnlySequence<byte>>> reads)
    {
        var random = new Random(sample.Name.Length * 7919);
        var original = Encoding.UTF8.GetBytes(sample.Body);
        var disagreements = new List<string>();
        var (valid, invalid) = (0, 0);
        for (var round = 0; round < 3000; round++)
        {
            var damaged = Damage(original, random);
            var expected = Oracle(sample.Format, damaged);
            var actual = Read(sample.Format, false, reads(damaged, round));
            if (actual != expected)
            {
                disagreements.Add($"{Encoding.UTF8.GetString(damaged)} → {actual}, parser: {expected}");
            }

            _ = expected == (null, null) ? invalid++ : valid++;
        }

        // Both kinds of answer were met: damage that keeps the counts, and damage that loses them.
        Assert.That((disagreements, valid > 100, invalid > 100), Is.EqualTo((new List<string>(), true, true)));
    }

    /// <summary>
    /// The string walk tests sixteen bytes at a time, and leaves the bytes after the last sixteen to a search: a byte
    /// that ends a string (a quote), starts an escape or is not allowed in one (a control character, RFC 8259 §7) is
    /// seen at every place in a name and in a value, whole in one read.
    /// </summary>
    [Test]
    public void StringStops_AtEveryPlaceOfANameOrValue_CountAsAJsonParserReadsThem()
    {
        var disagreements = new List<string>();
        string[] stops = ["\u0001", "\u001f", "\t", "\n", "\\\"", "\\n", "\"x\":\""];
        foreach (var (stop, at) in from stop in stops from at in Enumerable.Range(0, 41) select (stop, at))
        {
            var text = new string('a', at) + stop + new string('b', 40 - at);
            foreach (var body in new[]
            {
                $$"""{"model":"{{text}}","prompt_eval_count":3,"eval_count":4,"done":true}""",
                $$"""{"{{text}}":1,"prompt_eval_count":3,"eval_count":4,"done":true}""",
                $$"""{"prompt_eval_count":3,"{{text}}":"x","eval_count":4,"done":true}""",
            })
            {
                var json = Encoding.UTF8.GetBytes(body);
                var expected = Oracle(UsageFormat.OllamaJson, json);
                var actual = Read(UsageFormat.OllamaJson, false, [new ReadOnlySequence<byte>(json)]);
                if (actual != expected)
                {
                    disagreements.Add($"{body} → {actual}, parser: {expected}");
                }
            }
        }

        Assert.That(disagreements, Is.Empty);
    }

    /// <summary>The counts by the rules of <see cref="UsageFormat"/>, read by System.Text.Json.</summary>
    private static (long? Prompt, long? Completion) Oracle(UsageFormat format, byte[] json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, s_options);
        }
        catch (JsonException)
        {
            return (null, null);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null);
            }

            if (format == UsageFormat.OllamaJson)
            {
                var done = false;
                var (prompt, completion, odd) = ((long?)null, (long?)null, false);
                foreach (var property in root.EnumerateObject())
                {
                    done |= property.NameEquals("done") && property.Value.ValueKind == JsonValueKind.True;
                    Count(property, "prompt_eval_count", null, ref prompt, ref odd);
                    Count(property, "eval_count", null, ref completion, ref odd);
                }

                return !odd && (done || prompt.HasValue || completion.HasValue) ? (prompt ?? 0, completion ?? 0) : (null, null);
            }

            var (rootUsage, rootPrompt, rootCompletion, rootOdd) = Usage(root, "usage");
            if (rootOdd)
            {
                return (null, null);
            }

            if (format == UsageFormat.AnthropicJson)
            {
                // Anthropic's counts arrive one by one in a stream: each is taken alone.
                return (rootPrompt, rootCompletion);
            }

            return rootUsage && (rootPrompt.HasValue || rootCompletion.HasValue) ? (rootPrompt ?? 0, rootCompletion ?? 0) : (null, null);
        }
    }

    private static (bool Seen, long? Prompt, long? Completion, bool Odd) Usage(JsonElement parent, string name)
    {
        var (seen, prompt, completion, odd) = (false, (long?)null, (long?)null, false);
        foreach (var property in parent.EnumerateObject())
        {
            if (!property.NameEquals(name) || property.Value.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            seen = true;
            foreach (var count in property.Value.EnumerateObject())
            {
                Count(count, "prompt_tokens", "input_tokens", ref prompt, ref odd);
                Count(count, "completion_tokens", "output_tokens", ref completion, ref odd);
            }
        }

        return (seen, prompt, completion, odd);
    }

    /// <summary>A count is a whole number written with digits only; anything else in its place spoils the answer.</summary>
    private static void Count(JsonProperty property, string name, string? otherName, ref long? count, ref bool odd)
    {
        if (!property.NameEquals(name) && (otherName is null || !property.NameEquals(otherName)))
        {
            return;
        }

        var raw = property.Value.GetRawText();
        if (property.Value.ValueKind == JsonValueKind.Number && raw.All(char.IsAsciiDigit) && property.Value.TryGetInt64(out var value))
        {
            count = value;
        }
        else
        {
            odd = true;
        }
    }

    /// <summary>A few edits with bytes that change what JSON means (never bytes that make UTF-8 invalid, which the walk does not check).</summary>
    private static byte[] Damage(byte[] json, Random random)
    {
        const string JsonBytes = "{}[]\",:\\ \t\r\n0123456789-+.eEtrufalsn\"x";
        var bytes = json.ToList();
        for (var edits = random.Next(1, 4); edits > 0 && bytes.Count > 0; edits--)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0:
                    bytes.RemoveAt(at);
                    break;
                case 1:
                    bytes.Insert(at, (byte)JsonBytes[random.Next(JsonBytes.Length)]);
                    break;
                case 2:
                    bytes[at] = (byte)JsonBytes[random.Next(JsonBytes.Length)];
                    break;
                default:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 12)));
                    break;
            }
        }

        return [.. bytes];
    }
}
