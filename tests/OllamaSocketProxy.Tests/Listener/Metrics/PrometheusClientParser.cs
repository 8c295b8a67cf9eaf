using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace OllamaSocketProxy.Tests.Listener.Metrics;

/// <summary>One sample as Prometheus' own Python client parsed it.</summary>
internal sealed record ParsedSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    /// <summary><c>name{a="x",b="y"} value</c>, labels sorted, unescaped: a form to compare whole sets by.</summary>
    public override string ToString() =>
        $"{Name}{{{string.Join(",", Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"))}}} {Value.ToString("R", CultureInfo.InvariantCulture)}";
}

/// <summary>One metric family as the parser read it (a counter's name without <c>_total</c>).</summary>
internal sealed record ParsedFamily(string Name, string Type, string Help, IReadOnlyList<ParsedSample> Samples);

/// <summary>
/// Parses exposition text with <c>prometheus_client.parser.text_string_to_metric_families</c>, the parser of
/// Prometheus' Python client (Debian: <c>python3-prometheus-client</c>), so that the writer is checked by a reader
/// that is not ours. Fails the test, naming the package, when no Python has the module.
/// </summary>
internal static class PrometheusClientParser
{
    /// <summary>Exit code of the script when the module is missing.</summary>
    private const int ModuleMissing = 3;

    private const string Script = """
        import json, math, sys
        try:
            from prometheus_client.parser import text_string_to_metric_families
        except ImportError:
            sys.exit(3)
        text = sys.stdin.buffer.read().decode("utf-8")
        families = []
        for family in text_string_to_metric_families(text):
            samples = [{"name": s.name, "labels": s.labels,
                        "value": s.value if math.isfinite(s.value) else repr(s.value)} for s in family.samples]
            families.append({"name": family.name, "type": family.type, "help": family.documentation, "samples": samples})
        json.dump(families, sys.stdout)
        """;

    // Debian's interpreter first: apt installs the module for it, while a python3 earlier on PATH (pyenv) may lack it.
    private static readonly string[] s_interpreters = ["/usr/bin/python3", "python3"];

    public static IReadOnlyList<ParsedFamily> Parse(string text)
    {
        foreach (var interpreter in s_interpreters)
        {
            if (TryRun(interpreter, text, out var json))
            {
                return Read(json);
            }
        }

        Assert.Fail(
            "No python3 with prometheus_client: install Debian's python3-prometheus-client " +
            "(apt-get install -y python3-prometheus-client), which .ci/run should install.");
        return [];
    }

    private static bool TryRun(string interpreter, string text, out string json)
    {
        json = "";
        var start = new ProcessStartInfo(interpreter)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Script);

        System.Diagnostics.Process process;
        try
        {
            process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException($"{interpreter} did not start");
        }
        catch (Win32Exception)
        {
            return false; // no such interpreter
        }

        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(text);
            process.StandardInput.Close();
            if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"{interpreter} did not parse within 60 s");
            }

            if (process.ExitCode == ModuleMissing)
            {
                return false;
            }

            Assert.That(process.ExitCode, Is.Zero, () => $"the Prometheus parser refused the text: {error.Result}\n--- text:\n{text}");
            json = output.Result;
            return true;
        }
    }

    private static List<ParsedFamily> Read(string json)
    {
        using var document = JsonDocument.Parse(json);
        var families = new List<ParsedFamily>();
        foreach (var family in document.RootElement.EnumerateArray())
        {
            var samples = new List<ParsedSample>();
            foreach (var sample in family.GetProperty("samples").EnumerateArray())
            {
                var labels = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var label in sample.GetProperty("labels").EnumerateObject())
                {
                    labels[label.Name] = label.Value.GetString()!;
                }

                var value = sample.GetProperty("value");
                samples.Add(new ParsedSample(
                    sample.GetProperty("name").GetString()!,
                    labels,
                    value.ValueKind == JsonValueKind.Number ? value.GetDouble() : ParseSpecial(value.GetString()!)));
            }

            families.Add(new ParsedFamily(
                family.GetProperty("name").GetString()!, family.GetProperty("type").GetString()!, family.GetProperty("help").GetString()!, samples));
        }

        return families;
    }

    private static double ParseSpecial(string repr) => repr switch
    {
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        _ => double.NaN,
    };
}
