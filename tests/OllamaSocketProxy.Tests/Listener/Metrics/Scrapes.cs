using System.Buffers;
using System.Globalization;
using System.Text;
using OllamaSocketProxy.Listener.Metrics;

namespace OllamaSocketProxy.Tests.Listener.Metrics;

/// <summary>Scrape text, and its sample lines read plainly for checks made many times a test.</summary>
internal static class Scrapes
{
    public static string Of(PrometheusExporter exporter)
    {
        var output = new ArrayBufferWriter<byte>();
        exporter.Scrape(output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    /// <summary>Each sample line's <c>name{labels}</c> and value; comment lines are skipped.</summary>
    public static Dictionary<string, double> Samples(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            var value = line[(space + 1)..] switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var number => double.Parse(number, CultureInfo.InvariantCulture),
            };
            Assert.That(samples.TryAdd(line[..space], value), Is.True, () => $"sample written twice: {line}");
        }

        return samples;
    }
}
