using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Listener.Gateway;
using static OllamaSocketProxy.Tests.Listener.Usage.UsageFixtures;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary><c>OllamaSocketProxy usage</c>, run in-process on real database files.</summary>
[Parallelizable(ParallelScope.All)]
public sealed partial class UsageCommandTests
{
    [Test]
    public void Table_IsByClientAndModel_AlignedWithATotalLine()
    {
        using var folder = new TemporaryFolder();
        var path = Database(folder);

        var result = Run(["--db", path]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        var lines = result.Output.TrimEnd().Split(Environment.NewLine);
        var table = lines[1..];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(lines[0], Is.EqualTo($"Usage in all kept hours, from {path}:"));
            Assert.That(table.Select(Cells), Is.EqualTo(new[]
            {
                new[] { "client", "model", "requests", "prompt_tokens", "completion_tokens", "unknown_token_requests", "avg_ttfb_ms", "avg_duration_ms", "max_duration_ms" },
                ["alice", "gemma3:4b", "2", "40", "60", "0", "200.0", "2000.0", "3000.0"],
                ["bob", "qwen3:8b", "1", "0", "0", "1", "50.0", "500.0", "500.0"],
                ["total", "3", "40", "60", "1", "150.0", "1500.0", "3000.0"],
            }));

            // Figures are right-aligned to the header's end, so every line ends in the same column.
            Assert.That(table.Select(line => line.Length).Distinct().Count(), Is.EqualTo(1), result.Output);
            Assert.That(new[] { table[0].IndexOf("model", StringComparison.Ordinal), table[1].IndexOf("gemma3", StringComparison.Ordinal), table[2].IndexOf("qwen3", StringComparison.Ordinal) }.Distinct().Count(), Is.EqualTo(1), "names are left-aligned");
            Assert.That(result.Error, Is.Empty);
        }
    }

    [Test]
    public void Csv_HasAHeaderAndOneLinePerRow_QuotingAsRfc4180Says()
    {
        using var folder = new TemporaryFolder();
        var path = Database(folder, Record(client: "carol", model: "odd,\"name\"", prompt: 1, completion: 2, ttfbMs: 0.5, durationMs: 1.25));

        var result = Run(["--csv", "--db", path]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(result.Output, Is.EqualTo(
            "client,model,requests,prompt_tokens,completion_tokens,unknown_token_requests,avg_ttfb_ms,avg_duration_ms,max_duration_ms\r\n" +
            "alice,gemma3:4b,2,40,60,0,200,2000,3000\r\n" +
            "bob,qwen3:8b,1,0,0,1,50,500,500\r\n" +
            "carol,\"odd,\"\"name\"\"\",1,1,2,0,0.5,1.25,1.25\r\n"));
    }

    [Test]
    public void ByNone_PrintsOneTotalLine()
    {
        using var folder = new TemporaryFolder();
        var path = Database(folder);

        var result = Run(["--by", "none", "--db", path]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        var lines = result.Output.TrimEnd().Split(Environment.NewLine);
        Assert.That(lines[1..].Select(Cells), Is.EqualTo(new[]
        {
            new[] { "requests", "prompt_tokens", "completion_tokens", "unknown_token_requests", "avg_ttfb_ms", "avg_duration_ms", "max_duration_ms" },
            ["3", "40", "60", "1", "150.0", "1500.0", "3000.0"],
        }));
    }

    [Test]
    public void ByHourAndModel_PrintsAColumnPerHourStart_OldestFirst_InTheTableAndCsv()
    {
        using var folder = new TemporaryFolder();
        var path = Database(folder, Record(at: Start.AddHours(-1), model: "qwen3:8b", prompt: 1, completion: 1));

        var table = Run(["--by", "hour,model", "--db", path]);
        var csv = Run(["--by", "Model, HOUR", "--csv", "--db", path]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(table.ExitCode, Is.EqualTo(0), table.Error);
            Assert.That(table.Output.TrimEnd().Split(Environment.NewLine)[1..].Select(Cells), Is.EqualTo(new[]
            {
                new[] { "hour", "model", "requests", "prompt_tokens", "completion_tokens", "unknown_token_requests", "avg_ttfb_ms", "avg_duration_ms", "max_duration_ms" },
                ["2025-06-01T12:00:00Z", "qwen3:8b", "1", "1", "1", "0", "100.0", "1000.0", "1000.0"],
                ["2025-06-01T13:00:00Z", "gemma3:4b", "2", "40", "60", "0", "200.0", "2000.0", "3000.0"],
                ["2025-06-01T13:00:00Z", "qwen3:8b", "1", "0", "0", "1", "50.0", "500.0", "500.0"],
                ["total", "4", "41", "61", "1", "137.5", "1375.0", "3000.0"],
            }));
            Assert.That(csv.Output, Is.EqualTo(
                "hour,model,requests,prompt_tokens,completion_tokens,unknown_token_requests,avg_ttfb_ms,avg_duration_ms,max_duration_ms\r\n" +
                "2025-06-01T12:00:00Z,qwen3:8b,1,1,1,0,100,1000,1000\r\n" +
                "2025-06-01T13:00:00Z,gemma3:4b,2,40,60,0,200,2000,3000\r\n" +
                "2025-06-01T13:00:00Z,qwen3:8b,1,0,0,1,50,500,500\r\n"));
        }
    }

    [Test]
    public void SinceAnAge_CountsFromTheStartOfThatHour()
    {
        using var folder = new TemporaryFolder();
        var path = Database(folder, Record(at: Start.AddHours(2), client: "later"));
        var time = new FakeTimeProvider(Start.AddHours(2));

        // 15:20 - 1h = 14:20, counted from 14:00: only the record of 15:20.
        var result = Run(["--since", "1h", "--by", "client", "--csv", "--db", path], time: time);
        var table = Run(["--since=1h", "--until", "2025-06-01T16:00Z", "--by=client", "--db", path], time: time);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
            Assert.That(result.Output.Split("\r\n")[1..], Is.EqualTo(new[] { "later,1,10,20,0,100,1000,1000", "" }));
            Assert.That(table.Output, Does.StartWith("Usage since 2025-06-01 14:00 UTC until 2025-06-01 16:00 UTC, from "));
        }
    }

    [Test]
    public void DatabaseFromTheEnvironment_IsUsed_AndDbWinsOverIt()
    {
        using var folder = new TemporaryFolder();
        var path = Database(folder);
        var other = folder.File("other.db");
        using (var store = new UsageStore(other, Clock(), new LogLines()))
        {
            store.Write(Rollups(Record(client: "zed")));
        }

        var fromEnvironment = Run(["--by", "client", "--csv"], new() { ["PROXY_USAGE_DB"] = path });
        var fromOption = Run(["--by", "client", "--csv", "--db", other], new() { ["PROXY_USAGE_DB"] = path });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fromEnvironment.Output, Does.Contain("\r\nalice,").And.Not.Contain("zed"));
            Assert.That(fromOption.Output, Does.Contain("\r\nzed,").And.Not.Contain("alice"));
        }
    }

    [Test]
    public void EmptyDatabase_SaysSoAndSucceeds()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        using (var store = new UsageStore(path, Clock(), new LogLines()))
        {
            store.Open();
        }

        var result = Run(["--db", path]);

        Assert.That((result.ExitCode, result.Output.TrimEnd()), Is.EqualTo((0, "No requests counted in all kept hours.")));
    }

    [Test]
    public void StorageOff_FailsWithOneLine()
    {
        var result = Run([], new() { ["PROXY_USAGE_DB"] = "off" });

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(Lines(result.Error), Is.EqualTo(new[] { "OllamaSocketProxy usage: PROXY_USAGE_DB is off, so the proxy counts no usage; pass --db PATH to read a database" }));
    }

    [Test]
    public void MissingDatabase_FailsWithOneLineAndCreatesNothing()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("none.db");

        var result = Run(["--db", path]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(Lines(result.Error), Is.EqualTo(new[] { $"OllamaSocketProxy usage: no usage database at {path} (pass --db PATH or set PROXY_USAGE_DB)" }));
            Assert.That(File.Exists(path), Is.False);
        }
    }

    [Test]
    public void CorruptDatabase_FailsWithOneLine()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        File.WriteAllText(path, new string('x', 4096));

        var result = Run(["--db", path]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(Lines(result.Error), Has.Count.EqualTo(1));
            Assert.That(result.Error, Does.StartWith($"OllamaSocketProxy usage: {path}: ").And.Contain("not a database"));
        }
    }

    [TestCase("--frobnicate")]
    [TestCase("extra")]
    [TestCase("--since")]
    [TestCase("--since", "yesterday")]
    [TestCase("--since", "0x10d")]
    [TestCase("--since", "999999w")]
    [TestCase("--by", "client,colour")]
    [TestCase("--since", "2025-06-02", "--until", "2025-06-01")]
    [TestCase("--csv=yes")]
    [TestCase("--db", "")]
    public void WrongArguments_ExitWith2AndTheUsage(params string[] args)
    {
        var result = Run(args);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(2));
            Assert.That(result.Error, Does.StartWith("OllamaSocketProxy usage: ").And.Contain("usage: OllamaSocketProxy usage [--since WHEN]"));
            Assert.That(result.Output, Is.Empty);
        }
    }

    [Test]
    public void Help_PrintsTheUsage()
    {
        var result = Run(["--help"]);

        Assert.That(result.ExitCode, Is.EqualTo(0));
        Assert.That(result.Output, Does.StartWith("usage: OllamaSocketProxy usage"));
    }

    [TestCase("36h", "2025-05-31T01:20:00Z")]
    [TestCase("7d", "2025-05-25T13:20:00Z")]
    [TestCase("2W", "2025-05-18T13:20:00Z")]
    [TestCase("2025-05-01", "2025-05-01T00:00:00Z")]
    [TestCase("2025-05-01T08:30", "2025-05-01T08:30:00Z")]
    [TestCase("2025-05-01T08:30+02:00", "2025-05-01T06:30:00Z")]
    public void Time_IsAnAgeOrAUtcDateOrTime(string text, string expected)
    {
        Assert.That(UsageCommand.TryParseTime(text, Start, out var time), Is.True);
        Assert.That(time, Is.EqualTo(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>alice × gemma3:4b twice, bob × qwen3:8b once without token counts, and <paramref name="more"/>.</summary>
    private static string Database(TemporaryFolder folder, params UsageRecord[] more)
    {
        var path = folder.File("usage.db");
        using var store = new UsageStore(path, Clock(), new LogLines());
        store.Write(Rollups([
            Record(prompt: 10, completion: 20, ttfbMs: 100, durationMs: 1000),
            Record(prompt: 30, completion: 40, ttfbMs: 300, durationMs: 3000),
            Record(client: "bob", model: "qwen3:8b", prompt: null, completion: null, ttfbMs: 50, durationMs: 500),
            .. more,
        ]));
        return path;
    }

    private static (int ExitCode, string Output, string Error) Run(string[] args, Dictionary<string, string?>? environment = null, TimeProvider? time = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = UsageCommand.Run(args, output, error, environment ?? new(), time ?? new FakeTimeProvider(Start));
        return (exitCode, output.ToString(), error.ToString());
    }

    private static string[] Cells(string line) => CellSeparator().Split(line.Trim());

    private static List<string> Lines(string text) => [.. text.Split(Environment.NewLine).Where(line => line.Length > 0)];

    [GeneratedRegex(" {2,}")]
    private static partial Regex CellSeparator();
}
