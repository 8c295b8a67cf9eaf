using System.Diagnostics;
using System.Diagnostics.Metrics;
using OllamaSocketProxy.Listener.Metrics;

namespace OllamaSocketProxy.Tests.Listener.Metrics;

/// <summary>What a meter's instruments become in a scrape: families, series, sums, buckets, order.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class PrometheusExporterTests
{
    [Test]
    public void CounterAndHistogram_ScrapedExactly()
    {
        using var meter = new Meter("test");
        var requests = meter.CreateCounter<long>("requests", null, "Requests answered.");
        var latency = meter.CreateHistogram("latency_seconds", "s", "Latency.", tags: null, Bounds(0.5, 1));
        using var exporter = new PrometheusExporter(meter);

        requests.Add(2, new TagList { { "client", "b" }, { "model", "m" } });
        requests.Add(1, new TagList { { "model", "m" }, { "client", "a" } });
        requests.Add(3, new TagList { { "client", "a" }, { "model", "m" } });
        latency.Record(0.25, new TagList { { "client", "a" } });
        latency.Record(0.75, new TagList { { "client", "a" } });
        latency.Record(5, new TagList { { "client", "a" } });

        Assert.That(Scrapes.Of(exporter), Is.EqualTo("""
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            latency_seconds_bucket{client="a",le="0.5"} 1
            latency_seconds_bucket{client="a",le="1"} 2
            latency_seconds_bucket{client="a",le="+Inf"} 3
            latency_seconds_sum{client="a"} 6
            latency_seconds_count{client="a"} 3
            # HELP requests_total Requests answered.
            # TYPE requests_total counter
            requests_total{client="a",model="m"} 4
            requests_total{client="b",model="m"} 2

            """.ReplaceLineEndings("\n")));
    }

    /// <summary>
    /// The last two series are tried before the lookup: tag sets that come again in turn, in another order, or with
    /// equal values that are other string instances, still each count in their own series.
    /// </summary>
    [Test]
    public void TagSetsThatComeAgain_EachCountInTheirOwnSeries()
    {
        using var meter = new Meter("test");
        var tokens = meter.CreateCounter<long>("tokens");
        using var exporter = new PrometheusExporter(meter);

        for (var i = 0; i < 10; i++)
        {
            tokens.Add(1, new TagList { { "client", "a" }, { "kind", "prompt" } });
            tokens.Add(10, new TagList { { "client", "a" }, { "kind", "completion" } });
            tokens.Add(100, new TagList { { "client", new string('a', 1) }, { "kind", "prompt" } });
            tokens.Add(1000, new TagList { { "kind", "prompt" }, { "client", "b" } });
            tokens.Add(10000, new TagList { { "client", "b" }, { "kind", "prompt" } });
        }

        Assert.That(Scrapes.Samples(Scrapes.Of(exporter)), Is.EqualTo(new Dictionary<string, double>
        {
            ["tokens_total{client=\"a\",kind=\"completion\"}"] = 100,
            ["tokens_total{client=\"a\",kind=\"prompt\"}"] = 1010,
            ["tokens_total{client=\"b\",kind=\"prompt\"}"] = 110000,
        }));
    }

    [Test]
    public void HistogramValueOnABound_CountedInThatBucket()
    {
        using var meter = new Meter("test");
        var latency = meter.CreateHistogram("h", null, null, tags: null, Bounds(1, 2));
        using var exporter = new PrometheusExporter(meter);

        latency.Record(1);
        latency.Record(2);

        var samples = Scrapes.Samples(Scrapes.Of(exporter));
        Assert.That(
            (samples["h_bucket{le=\"1\"}"], samples["h_bucket{le=\"2\"}"], samples["h_bucket{le=\"+Inf\"}"], samples["h_count"]),
            Is.EqualTo((1d, 2d, 2d, 2d)));
    }

    [Test]
    public void HistogramWithoutAdvice_DefaultBounds()
    {
        using var meter = new Meter("test");
        var sizes = meter.CreateHistogram<long>("sizes");
        using var exporter = new PrometheusExporter(meter);

        sizes.Record(7);

        var buckets = Scrapes.Samples(Scrapes.Of(exporter)).Keys.Where(k => k.StartsWith("sizes_bucket", StringComparison.Ordinal)).ToArray();
        Assert.That(buckets, Has.Length.EqualTo(16));
        Assert.That(buckets[^1], Is.EqualTo("sizes_bucket{le=\"+Inf\"}"));
    }

    [Test]
    public void Series_SortedByLabels_FamiliesByName()
    {
        using var meter = new Meter("test");
        var zeta = meter.CreateCounter<long>("zeta");
        var alpha = meter.CreateUpDownCounter<long>("alpha");
        using var exporter = new PrometheusExporter(meter);

        foreach (var client in new[] { "carol", "alice", "bob" })
        {
            zeta.Add(1, new TagList { { "client", client } });
            alpha.Add(1, new TagList { { "client", client } });
        }

        var lines = Scrapes.Of(exporter).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Is.EqualTo(new[]
        {
            "# TYPE alpha gauge",
            "alpha{client=\"alice\"} 1",
            "alpha{client=\"bob\"} 1",
            "alpha{client=\"carol\"} 1",
            "# TYPE zeta_total counter",
            "zeta_total{client=\"alice\"} 1",
            "zeta_total{client=\"bob\"} 1",
            "zeta_total{client=\"carol\"} 1",
        }));
    }

    [Test]
    public void LabelValue_EscapedInTheSeries()
    {
        using var meter = new Meter("test");
        var counter = meter.CreateCounter<long>("c");
        using var exporter = new PrometheusExporter(meter);

        counter.Add(1, new TagList { { "model", "a\\b\"c\nd" } });

        Assert.That(Scrapes.Of(exporter), Does.Contain("c_total{model=\"a\\\\b\\\"c\\nd\"} 1\n"));
    }

    [Test]
    public void UpDownCounter_SumsBothWays()
    {
        using var meter = new Meter("test");
        var open = meter.CreateUpDownCounter<int>("open");
        using var exporter = new PrometheusExporter(meter);

        open.Add(3);
        open.Add(-1);

        Assert.That(Scrapes.Samples(Scrapes.Of(exporter))["open"], Is.EqualTo(2));
    }

    [Test]
    public void ObservableInstruments_PolledAtEachScrape()
    {
        using var meter = new Meter("test");
        var connections = 3L;
        var total = 10L;
        meter.CreateObservableGauge("connections", () => connections);
        meter.CreateObservableCounter("done", () => total);
        using var exporter = new PrometheusExporter(meter);

        var first = Scrapes.Samples(Scrapes.Of(exporter));
        connections = 1;
        total = 12;
        var second = Scrapes.Samples(Scrapes.Of(exporter));

        Assert.That((first["connections"], first["done_total"]), Is.EqualTo((3d, 10d)));
        Assert.That((second["connections"], second["done_total"]), Is.EqualTo((1d, 12d)));
    }

    [Test]
    public void DoubleCounter_SumsFractions()
    {
        using var meter = new Meter("test");
        var seconds = meter.CreateCounter<double>("busy_seconds");
        using var exporter = new PrometheusExporter(meter);

        seconds.Add(0.25);
        seconds.Add(0.5);

        Assert.That(Scrapes.Samples(Scrapes.Of(exporter))["busy_seconds_total"], Is.EqualTo(0.75));
    }

    [Test]
    public void CounterNamedTotal_NoSecondSuffix()
    {
        using var meter = new Meter("test");
        var bytes = meter.CreateCounter<long>("bytes_total");
        using var exporter = new PrometheusExporter(meter);

        bytes.Add(5);

        Assert.That(Scrapes.Of(exporter), Is.EqualTo("# TYPE bytes_total counter\nbytes_total 5\n"));
    }

    [Test]
    public void InstrumentCreatedAfterTheExporter_Exported()
    {
        using var meter = new Meter("test");
        using var exporter = new PrometheusExporter(meter);
        var late = meter.CreateCounter<long>("late");

        late.Add(4);

        Assert.That(Scrapes.Samples(Scrapes.Of(exporter))["late_total"], Is.EqualTo(4));
    }

    [Test]
    public void OtherMeterOfTheSameName_NotRead()
    {
        using var meter = new Meter(ProxyMetrics.MeterName);
        using var other = new Meter(ProxyMetrics.MeterName);
        meter.CreateCounter<long>("mine").Add(1);
        var theirs = other.CreateCounter<long>("theirs");
        using var exporter = new PrometheusExporter(meter);

        theirs.Add(1);

        Assert.That(Scrapes.Of(exporter), Does.Contain("mine_total").And.Not.Contain("theirs"));
    }

    [Test]
    public void InstrumentWithoutMeasurements_HeaderOnly()
    {
        using var meter = new Meter("test");
        meter.CreateCounter<long>("idle", null, "Never counted.");
        using var exporter = new PrometheusExporter(meter);

        Assert.That(Scrapes.Of(exporter), Is.EqualTo("# HELP idle_total Never counted.\n# TYPE idle_total counter\n"));
    }

    [Test]
    public void NaNMeasurement_Ignored()
    {
        using var meter = new Meter("test");
        var seconds = meter.CreateCounter<double>("s");
        using var exporter = new PrometheusExporter(meter);

        seconds.Add(1);
        seconds.Add(double.NaN);

        Assert.That(Scrapes.Samples(Scrapes.Of(exporter))["s_total"], Is.EqualTo(1));
    }

    [Test]
    public void TagGivenTwice_FirstValueKept()
    {
        using var meter = new Meter("test");
        var counter = meter.CreateCounter<long>("c");
        using var exporter = new PrometheusExporter(meter);

        counter.Add(1, new TagList { { "client", "a" }, { "client", "b" } });
        counter.Add(1, new TagList { { "client", "a" }, { "client", "b" } });

        Assert.That(Scrapes.Samples(Scrapes.Of(exporter)), Is.EqualTo(new Dictionary<string, double> { ["c_total{client=\"a\"}"] = 2 }));
    }

    [Test]
    public void InvalidNames_Sanitized()
    {
        using var meter = new Meter("test");
        var counter = meter.CreateCounter<long>("http.requests");
        using var exporter = new PrometheusExporter(meter);

        counter.Add(1, new TagList { { "http.route", "/x" } });

        Assert.That(Scrapes.Samples(Scrapes.Of(exporter)).Keys, Is.EqualTo(new[] { "http_requests_total{http_route=\"/x\"}" }));
    }

    [Test]
    public void AfterDispose_MeasurementsNoLongerCounted()
    {
        using var meter = new Meter("test");
        var counter = meter.CreateCounter<long>("c");
        var exporter = new PrometheusExporter(meter);
        counter.Add(1);

        exporter.Dispose();
        counter.Add(1);

        Assert.That(counter.Enabled, Is.False);
    }

    private static InstrumentAdvice<double> Bounds(params double[] bounds) => new() { HistogramBucketBoundaries = bounds };
}
