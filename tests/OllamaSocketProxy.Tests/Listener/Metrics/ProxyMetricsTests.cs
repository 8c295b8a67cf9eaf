using System.Diagnostics;
using System.Diagnostics.Metrics;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Listener.Metrics;
using OllamaSocketProxy.Tests.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Metrics;

/// <summary>
/// The proxy's families as a scrape shows them, read back by Prometheus' own Python parser: names, types, labels,
/// values and buckets of a known set of measurements.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ProxyMetricsTests
{
    private const string Alice = "alice";
    private const string Bob = "bob";
    private const string GptOss = "gpt-oss:120b";
    private const string Gemma = "gemma3:latest";

    [Test]
    public void KnownMeasurements_ParsedByPrometheusClient()
    {
        var keys = new KeyPoolFixture(2);
        keys.RateLimited(keys.Keys[1], KeyPoolFixture.SessionLimit);
        using var metrics = new ProxyMetrics(new ProxyMetricsSources
        {
            Keys = keys.Pool.Snapshot,
            ClientConnections = () => 3,
            IdleUpstreamConnections = () => 2,
            BusyUpstreamConnections = () => 1,
            UsageDbErrors = () => 2,
        });
        using var exporter = new PrometheusExporter(metrics.Meter);

        metrics.RequestCompleted(Alice, GptOss, 200, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(0.25), 10, 20);
        metrics.RequestCompleted(Alice, GptOss, 200, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(0.75), 5, 7);
        metrics.RequestCompleted(Bob, ModelLabel.Other, 429, TimeSpan.FromSeconds(0.03125), timeToFirstByte: null);
        metrics.RequestCompleted(Bob, Gemma, 200, TimeSpan.FromSeconds(700), TimeSpan.FromSeconds(30), 12, completionTokens: null);

        var families = PrometheusClientParser.Parse(Scrapes.Of(exporter)).ToDictionary(f => f.Name);

        Assert.That(families.Values.Select(f => (f.Name, f.Type)), Is.EquivalentTo(new[]
        {
            ("ollama_proxy_requests", "counter"),
            ("ollama_proxy_request_duration_seconds", "histogram"),
            ("ollama_proxy_time_to_first_byte_seconds", "histogram"),
            ("ollama_proxy_tokens", "counter"),
            ("ollama_proxy_upstream_key_up", "gauge"),
            ("ollama_proxy_upstream_key_rate_limited", "counter"),
            ("ollama_proxy_client_connections", "gauge"),
            ("ollama_proxy_upstream_connections", "gauge"),
            ("ollama_proxy_usage_db_errors", "counter"),
        }));
        Assert.That(families.Values.Select(f => f.Help), Has.All.Not.Empty);

        Assert.That(Samples(families["ollama_proxy_requests"]), Is.EquivalentTo(new[]
        {
            "ollama_proxy_requests_total{client=alice,model=gpt-oss:120b,status=200} 2",
            "ollama_proxy_requests_total{client=bob,model=other,status=429} 1",
            "ollama_proxy_requests_total{client=bob,model=gemma3:latest,status=200} 1",
        }));
        Assert.That(Samples(families["ollama_proxy_tokens"]), Is.EquivalentTo(new[]
        {
            "ollama_proxy_tokens_total{client=alice,kind=prompt,model=gpt-oss:120b} 15",
            "ollama_proxy_tokens_total{client=alice,kind=completion,model=gpt-oss:120b} 27",
            "ollama_proxy_tokens_total{client=bob,kind=prompt,model=gemma3:latest} 12",
        }));
        Assert.That(Samples(families["ollama_proxy_upstream_key_up"]), Is.EquivalentTo(new[]
        {
            $"ollama_proxy_upstream_key_up{{key={keys.Keys[0].Label}}} 1",
            $"ollama_proxy_upstream_key_up{{key={keys.Keys[1].Label}}} 0",
        }));
        Assert.That(Samples(families["ollama_proxy_upstream_key_rate_limited"]), Is.EquivalentTo(new[]
        {
            $"ollama_proxy_upstream_key_rate_limited_total{{key={keys.Keys[0].Label}}} 0",
            $"ollama_proxy_upstream_key_rate_limited_total{{key={keys.Keys[1].Label}}} 1",
        }));
        Assert.That(Samples(families["ollama_proxy_client_connections"]), Is.EqualTo(new[] { "ollama_proxy_client_connections{} 3" }));
        Assert.That(Samples(families["ollama_proxy_upstream_connections"]), Is.EquivalentTo(new[]
        {
            "ollama_proxy_upstream_connections{state=idle} 2",
            "ollama_proxy_upstream_connections{state=busy} 1",
        }));
        Assert.That(Samples(families["ollama_proxy_usage_db_errors"]), Is.EqualTo(new[] { "ollama_proxy_usage_db_errors_total{} 2" }));

        // Alice: 1.5 s and 3 s; Bob: 0.03125 s and 700 s (past the last bound).
        var duration = Histogram(families["ollama_proxy_request_duration_seconds"], Alice);
        Assert.That(duration.Buckets["1"], Is.Zero);
        Assert.That(duration.Buckets["2.5"], Is.EqualTo(1));
        Assert.That(duration.Buckets["5"], Is.EqualTo(2));
        Assert.That(duration.Buckets["600"], Is.EqualTo(2));
        Assert.That((duration.Sum, duration.Count), Is.EqualTo((4.5, 2d)));
        var slow = Histogram(families["ollama_proxy_request_duration_seconds"], Bob);
        Assert.That((slow.Buckets["0.05"], slow.Buckets["600"], slow.Buckets["+Inf"], slow.Count), Is.EqualTo((1d, 1d, 2d, 2d)));
        var firstByte = Histogram(families["ollama_proxy_time_to_first_byte_seconds"], Bob);
        Assert.That((firstByte.Buckets["20"], firstByte.Buckets["30"], firstByte.Sum, firstByte.Count), Is.EqualTo((0d, 1d, 30d, 1d)));
    }

    [Test]
    public void DurationHistograms_BucketsFromFiftyMillisecondsToTenMinutes()
    {
        using var metrics = new ProxyMetrics();
        using var exporter = new PrometheusExporter(metrics.Meter);

        metrics.RequestCompleted(Alice, GptOss, 200, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        var families = PrometheusClientParser.Parse(Scrapes.Of(exporter)).ToDictionary(f => f.Name);
        foreach (var name in new[] { "ollama_proxy_request_duration_seconds", "ollama_proxy_time_to_first_byte_seconds" })
        {
            var bounds = Histogram(families[name], Alice).Buckets.Keys;
            Assert.That(bounds, Is.EqualTo(new[] { "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "20", "30", "60", "120", "300", "600", "+Inf" }), name);
        }
    }

    [Test]
    public void EscapedLabelValues_ReadBackByPrometheusClient()
    {
        using var meter = new Meter("test");
        var counter = meter.CreateCounter<long>("c", null, "Help with \\ and\nline feed.");
        using var exporter = new PrometheusExporter(meter);
        const string awkward = "a\\b\"c\nd …é";

        counter.Add(1, new TagList { { "model", awkward } });

        var family = PrometheusClientParser.Parse(Scrapes.Of(exporter)).Single();
        Assert.That((family.Help, family.Samples.Single().Labels["model"]), Is.EqualTo(("Help with \\ and\nline feed.", awkward)));
    }

    [Test]
    public void NoSources_ConnectionAndKeyFamiliesEmpty_DbErrorsZero()
    {
        using var metrics = new ProxyMetrics();
        using var exporter = new PrometheusExporter(metrics.Meter);

        var samples = Scrapes.Samples(Scrapes.Of(exporter));

        Assert.That(samples, Is.EqualTo(new Dictionary<string, double> { ["ollama_proxy_usage_db_errors_total"] = 0 }));
    }

    [Test]
    public void KeyBenchedThenBack_UpFollowsTheBench()
    {
        var keys = new KeyPoolFixture(1);
        using var metrics = new ProxyMetrics(new ProxyMetricsSources { Keys = keys.Pool.Snapshot });
        using var exporter = new PrometheusExporter(metrics.Meter);
        var series = $"ollama_proxy_upstream_key_up{{key=\"{keys.Keys[0].Label}\"}}";

        keys.RateLimited(keys.Keys[0], KeyPoolFixture.SessionLimit);
        var benched = Scrapes.Samples(Scrapes.Of(exporter))[series];
        keys.Clock.Advance(keys.BenchLeft(keys.Keys[0]));
        var back = Scrapes.Samples(Scrapes.Of(exporter))[series];

        Assert.That((benched, back), Is.EqualTo((0d, 1d)));
    }

    [Test]
    public void DisabledKey_Down()
    {
        var keys = new KeyPoolFixture(2);
        using var metrics = new ProxyMetrics(new ProxyMetricsSources { Keys = keys.Pool.Snapshot });
        using var exporter = new PrometheusExporter(metrics.Meter);

        keys.Pool.Disable(keys.Keys[0], 401);

        Assert.That(Scrapes.Samples(Scrapes.Of(exporter))[$"ollama_proxy_upstream_key_up{{key=\"{keys.Keys[0].Label}\"}}"], Is.Zero);
    }

    [TestCase(200, "200")]
    [TestCase(499, "499")]
    [TestCase(999, "999")]
    [TestCase(99, "other")]
    [TestCase(1000, "other")]
    [TestCase(0, "other")]
    public void StatusCode_Label(int status, string label)
    {
        using var metrics = new ProxyMetrics();
        using var exporter = new PrometheusExporter(metrics.Meter);

        metrics.RequestCompleted(Alice, GptOss, status, TimeSpan.FromSeconds(1), null);

        Assert.That(
            Scrapes.Samples(Scrapes.Of(exporter)),
            Does.ContainKey($"ollama_proxy_requests_total{{client=\"alice\",model=\"gpt-oss:120b\",status=\"{label}\"}}"));
    }

    [Test]
    public void NoByteSent_NoTimeToFirstByte()
    {
        using var metrics = new ProxyMetrics();
        using var exporter = new PrometheusExporter(metrics.Meter);

        metrics.RequestCompleted(Alice, GptOss, 502, TimeSpan.FromSeconds(1), timeToFirstByte: null);

        var samples = Scrapes.Samples(Scrapes.Of(exporter));
        Assert.That(samples.Keys, Has.None.StartWith("ollama_proxy_time_to_first_byte_seconds"));
        Assert.That(samples["ollama_proxy_request_duration_seconds_count{client=\"alice\"}"], Is.EqualTo(1));
    }

    [Test]
    public void TallyFor_GivesTheRecentTallyBackForItsOwnLabelsOnly()
    {
        using var metrics = new ProxyMetrics();
        var alice = metrics.TallyFor(Alice, GptOss, 200);

        Assert.That(metrics.TallyFor(Alice, GptOss, 200, recent: alice), Is.SameAs(alice));
        Assert.That(metrics.TallyFor(new string(Alice.AsSpan()), GptOss, 200), Is.SameAs(alice), "equal labels, other strings");
        var others = new[]
        {
            metrics.TallyFor(Bob, GptOss, 200, recent: alice),
            metrics.TallyFor(Alice, Gemma, 200, recent: alice),
            metrics.TallyFor(Alice, GptOss, 404, recent: alice),
        };
        Assert.That(others.Select(t => (t.Client, t.Model, t.Status)), Is.EqualTo(new[]
        {
            (Bob, GptOss, "200"),
            (Alice, Gemma, "200"),
            (Alice, GptOss, "404"),
        }));
        Assert.That(others, Has.None.SameAs(alice));
    }

    [Test]
    public void RequestsAndTokens_ReadByAPlainMeterListener_WhenItCollects()
    {
        using var metrics = new ProxyMetrics();
        var tally = metrics.TallyFor(Alice, GptOss, 200);
        metrics.RequestCompleted(tally, TimeSpan.FromSeconds(1), null, 10, 20);
        metrics.RequestCompleted(tally, TimeSpan.FromSeconds(1), null, 5, null);
        metrics.RequestCompleted(Alice, GptOss, 500, TimeSpan.FromSeconds(1), null, 1, null);

        var seen = new List<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, metrics.Meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            seen.Add($"{instrument.Name} {string.Join(",", tags.ToArray().OrderBy(t => t.Key).Select(t => $"{t.Key}={t.Value}"))} {value}"));
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.That(seen.Where(s => s.StartsWith("ollama_proxy_requests ", StringComparison.Ordinal) || s.StartsWith("ollama_proxy_tokens ", StringComparison.Ordinal)), Is.EquivalentTo(new[]
        {
            "ollama_proxy_requests client=alice,model=gpt-oss:120b,status=200 2",
            "ollama_proxy_requests client=alice,model=gpt-oss:120b,status=500 1",
            "ollama_proxy_tokens client=alice,kind=prompt,model=gpt-oss:120b 16",
            "ollama_proxy_tokens client=alice,kind=completion,model=gpt-oss:120b 20",
        }));
    }

    [Test]
    public void Meter_NamedForDotnetCounters()
    {
        using var metrics = new ProxyMetrics();

        Assert.That(metrics.Meter.Name, Is.EqualTo("OllamaSocketProxy"));
    }

    private static string[] Samples(ParsedFamily family) => [.. family.Samples.Select(s => s.ToString())];

    private static (Dictionary<string, double> Buckets, double Sum, double Count) Histogram(ParsedFamily family, string client)
    {
        var own = family.Samples.Where(s => s.Labels["client"] == client).ToArray();
        var buckets = own.Where(s => s.Name.EndsWith("_bucket", StringComparison.Ordinal)).ToDictionary(s => s.Labels["le"], s => s.Value);
        return (buckets, own.Single(s => s.Name.EndsWith("_sum", StringComparison.Ordinal)).Value, own.Single(s => s.Name.EndsWith("_count", StringComparison.Ordinal)).Value);
    }
}
