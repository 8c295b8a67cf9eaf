using System.Text;
using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>
/// The walk of a value that came whole (<see cref="UsageJsonScanner.TryScanWhole"/>) leaves the scanner as the
/// byte-by-byte walk (<see cref="UsageJsonScanner.Scan"/>) does, wherever it walks, and walks every real answer.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class UsageJsonScannerWholeTests
{
    /// <summary>Every JSON value of every sample answer: a body, an NDJSON line, an event's data.</summary>
    private static readonly (UsageDialect Dialect, byte[] Json)[] Values =
    [
        .. from sample in UsageSamples.All
           from value in ValuesOf(sample)
           select (DialectOf(sample.Format), Encoding.UTF8.GetBytes(value)),
    ];

    [Test]
    public void SampleValues_AllWalkedWhole_AsScanWalksThem()
    {
        var differences = Values
            .Where(v => Whole(v.Dialect, v.Json) != (true, Scanned(v.Dialect, v.Json)))
            .Select(v => Encoding.UTF8.GetString(v.Json))
            .ToList();

        Assert.That((Values.Length > 20, differences), Is.EqualTo((true, new List<string>())));
    }

    /// <summary>
    /// Forty thousand values made from the samples by changing, dropping, inserting and repeating bytes: where the
    /// whole walk answers, the scanner stands as after <see cref="UsageJsonScanner.Scan"/>. Seeded, so a failure comes
    /// back the same.
    /// </summary>
    [Test]
    public void DamagedValues_WalkedWholeOrLeft_NeverDifferent()
    {
        var alphabet = "{}[]:,\"\\ \t\r\n0123456789-+.eEtrufalsn_usageprompt_eval_countdone"u8.ToArray().Concat(new byte[] { 0x01, 0x1F, 0xC3, 0xFF }).ToArray();
        var random = new Random(61206);
        var (walked, left) = (0, 0);
        var differences = new List<string>();
        for (var n = 0; n < 40_000 && differences.Count < 5; n++)
        {
            var (dialect, json) = Values[random.Next(Values.Length)];
            var damaged = ByteMutations.Mutate(json, random, alphabet, maxRepeat: 15);
            var (taken, state) = Whole(dialect, damaged);
            if (!taken)
            {
                left++;
                continue;
            }

            walked++;
            if (state != Scanned(dialect, damaged))
            {
                differences.Add($"{Encoding.UTF8.GetString(damaged)}: whole {state}, scanned {Scanned(dialect, damaged)}");
            }
        }

        // Damage that keeps the JSON (walked) and damage that breaks it (left to Scan) were both met, many times.
        Assert.That((differences, walked > 4_000, left > 4_000), Is.EqualTo((new List<string>(), true, true)), $"walked {walked}, left {left}");
    }

    /// <summary>A value whole in one piece, then more bytes: later bytes are read as after <see cref="UsageJsonScanner.Scan"/>.</summary>
    [TestCase("  \n", true)]
    [TestCase(" x", false)]
    [TestCase("{}", false)]
    public void BytesAfterAWholeValue_ReadAsScanReadsThem(string after, bool complete)
    {
        var json = Encoding.UTF8.GetBytes("""{"prompt_eval_count":3,"eval_count":4,"done":true}""");
        var scanner = default(UsageJsonScanner);
        scanner.Configure(UsageDialect.Ollama);

        var whole = scanner.TryScanWhole(json);
        scanner.Scan(Encoding.UTF8.GetBytes(after));

        Assert.That((whole, scanner.IsComplete), Is.EqualTo((true, complete)));
    }

    /// <summary>(complete, counts from nothing known, counts over earlier ones) after one walk or the other.</summary>
    private static (bool Complete, long, long, long, long) State(in UsageJsonScanner scanner)
    {
        long p1 = -1, c1 = -1, p2 = 7, c2 = 9;
        scanner.ApplyTo(ref p1, ref c1);
        scanner.ApplyTo(ref p2, ref c2);
        return (scanner.IsComplete, p1, c1, p2, c2);
    }

    private static (bool Taken, (bool, long, long, long, long) State) Whole(UsageDialect dialect, byte[] json)
    {
        var scanner = default(UsageJsonScanner);
        scanner.Configure(dialect);
        var taken = scanner.TryScanWhole(json);
        return (taken, State(scanner));
    }

    private static (bool, long, long, long, long) Scanned(UsageDialect dialect, byte[] json)
    {
        var scanner = default(UsageJsonScanner);
        scanner.Configure(dialect);
        scanner.Scan(json);
        return State(scanner);
    }

    private static UsageDialect DialectOf(UsageFormat format) => format switch
    {
        UsageFormat.OllamaJson or UsageFormat.OllamaJsonLines => UsageDialect.Ollama,
        UsageFormat.OpenAiJson or UsageFormat.OpenAiEventStream => UsageDialect.OpenAi,
        _ => UsageDialect.Anthropic,
    };

    private static IEnumerable<string> ValuesOf(UsageSample sample) => sample.Format switch
    {
        UsageFormat.OllamaJson or UsageFormat.OpenAiJson or UsageFormat.AnthropicJson => [sample.Body],
        UsageFormat.OllamaJsonLines => sample.Body.Split('\n', StringSplitOptions.RemoveEmptyEntries),
        _ => from line in sample.Body.Split(["\r\n", "\r", "\n"], StringSplitOptions.None)
             where line.StartsWith("data: {", StringComparison.Ordinal)
             select line["data: ".Length..],
    };
}
