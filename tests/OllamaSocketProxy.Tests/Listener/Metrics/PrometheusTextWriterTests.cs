using System.Buffers;
using System.Text;
using OllamaSocketProxy.Listener.Metrics;

namespace OllamaSocketProxy.Tests.Listener.Metrics;

/// <summary>The exposition syntax byte for byte: header lines, sample lines, escapes, numbers and names.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class PrometheusTextWriterTests
{
    [Test]
    public void FamilyHeader_HelpThenType()
    {
        var text = Write(w => w.WriteFamilyHeader("requests_total"u8, "Requests answered.", PrometheusMetricType.Counter));

        Assert.That(text, Is.EqualTo("# HELP requests_total Requests answered.\n# TYPE requests_total counter\n"));
    }

    [TestCase(PrometheusMetricType.Counter, "counter")]
    [TestCase(PrometheusMetricType.Gauge, "gauge")]
    [TestCase(PrometheusMetricType.Histogram, "histogram")]
    public void FamilyHeader_WithoutHelp_TypeOnly(PrometheusMetricType type, string typeText)
    {
        var text = Write(w => w.WriteFamilyHeader("m"u8, null, type));

        Assert.That(text, Is.EqualTo($"# TYPE m {typeText}\n"));
    }

    [Test]
    public void HelpText_BackslashAndLineFeedEscaped_QuoteKept()
    {
        var text = Write(w => w.WriteFamilyHeader("m"u8, "a \\ b\nc \"d\"", PrometheusMetricType.Gauge));

        Assert.That(text, Does.StartWith("# HELP m a \\\\ b\\nc \"d\"\n"));
    }

    [Test]
    public void LabelValue_BackslashQuoteAndLineFeedEscaped()
    {
        var text = Write(w => w.WriteLabelPair("model", "a\\b\"c\nd", first: true));

        Assert.That(text, Is.EqualTo("model=\"a\\\\b\\\"c\\nd\""));
    }

    [Test]
    public void LabelValue_NonAsciiWrittenAsUtf8()
    {
        var output = new ArrayBufferWriter<byte>();

        new PrometheusTextWriter(output).WriteLabelPair("key", "key#1 (…abcd)", first: true);

        Assert.That(output.WrittenSpan.ToArray(), Is.EqualTo(Encoding.UTF8.GetBytes("key=\"key#1 (…abcd)\"")));
    }

    [Test]
    public void LabelPairs_AfterTheFirst_CommaSeparated()
    {
        var text = Write(w =>
        {
            w.WriteLabelPair("a", "1", first: true);
            w.WriteLabelPair("b", "2", first: false);
        });

        Assert.That(text, Is.EqualTo("a=\"1\",b=\"2\""));
    }

    [Test]
    public void Sample_WithoutLabels_NoBraces()
    {
        var text = Write(w => w.WriteSample("up"u8, default, default, default, 1));

        Assert.That(text, Is.EqualTo("up 1\n"));
    }

    [Test]
    public void Sample_SuffixLabelsAndExtraLabel_OneLabelList()
    {
        var text = Write(w => w.WriteSample("d"u8, "_bucket"u8, "client=\"a\""u8, "le=\"0.5\""u8, 3));

        Assert.That(text, Is.EqualTo("d_bucket{client=\"a\",le=\"0.5\"} 3\n"));
    }

    [Test]
    public void Sample_OnlyExtraLabel_NoLeadingComma()
    {
        var text = Write(w => w.WriteSample("d"u8, "_bucket"u8, default, "le=\"+Inf\""u8, 7));

        Assert.That(text, Is.EqualTo("d_bucket{le=\"+Inf\"} 7\n"));
    }

    [TestCase(0d, "0")]
    [TestCase(42d, "42")]
    [TestCase(-3d, "-3")]
    [TestCase(0.05, "0.05")]
    [TestCase(1.5, "1.5")]
    [TestCase(123456789012d, "123456789012")]
    [TestCase(1e21, "1E+21")]
    [TestCase(double.PositiveInfinity, "+Inf")]
    [TestCase(double.NegativeInfinity, "-Inf")]
    [TestCase(double.NaN, "NaN")]
    public void Value_ShortestRoundTripOrSpecial(double value, string expected)
    {
        Assert.That(Write(w => w.WriteValue(value)), Is.EqualTo(expected));
    }

    [Test]
    public void Value_ReadsBackAsTheSameDouble()
    {
        var random = new Random(7);
        for (var i = 0; i < 1000; i++)
        {
            var value = BitConverter.Int64BitsToDouble(random.NextInt64());
            if (!double.IsFinite(value))
            {
                continue;
            }

            var text = Write(w => w.WriteValue(value));
            Assert.That(double.Parse(text, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(value), text);
        }
    }

    [TestCase("ollama_proxy_requests", "ollama_proxy_requests")]
    [TestCase("http.server.request.duration", "http_server_request_duration")]
    [TestCase("a:b-c", "a:b_c")]
    [TestCase("1st", "_st")]
    [TestCase("", "_")]
    public void MetricName_InvalidCharactersBecomeUnderscore(string name, string expected)
    {
        Assert.That(PrometheusTextWriter.SanitizeMetricName(name), Is.EqualTo(expected));
    }

    [TestCase("client", "client")]
    [TestCase("a:b", "a_b")]
    [TestCase("http.route", "http_route")]
    [TestCase("9", "_")]
    public void LabelName_InvalidCharactersBecomeUnderscore(string name, string expected)
    {
        Assert.That(PrometheusTextWriter.SanitizeLabelName(name), Is.EqualTo(expected));
    }

    [Test]
    public void ValidName_ReturnedAsItIs()
    {
        const string name = "ollama_proxy_tokens";

        Assert.That(PrometheusTextWriter.SanitizeMetricName(name), Is.SameAs(name));
    }

    private static string Write(Action<PrometheusTextWriter> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(new PrometheusTextWriter(output));
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }
}
