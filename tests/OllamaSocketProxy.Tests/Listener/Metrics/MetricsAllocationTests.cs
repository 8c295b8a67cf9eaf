using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Listener.Metrics;

namespace OllamaSocketProxy.Tests.Listener.Metrics;

/// <summary>Recording on the request path allocates nothing, with no listener and with the exporter's listener.</summary>
[NonParallelizable]
public sealed class MetricsAllocationTests
{
    private const int Rounds = 1000;

    // Label values that exist before the measurement, as a client's name, a model label and a status label do.
    private static readonly string s_client = "alice";
    private static readonly string s_model = "gpt-oss:120b";
    private static readonly string s_status = "200";

    [Test]
    public void CounterAddWithThreeTags_NoListener_AllocatesNothing()
    {
        using var meter = new Meter("allocation");
        var counter = meter.CreateCounter<long>("requests");

        Assert.That(counter.Enabled, Is.False);
        Assert.That(AllocatedBy(() => AddThreeTags(counter)), Is.Zero);
    }

    [Test]
    public void CounterAddWithThreeTags_ExporterListening_AllocatesNothing()
    {
        using var meter = new Meter("allocation");
        var counter = meter.CreateCounter<long>("requests");
        using var exporter = new PrometheusExporter(meter);

        Assert.That(counter.Enabled, Is.True);
        Assert.That(AllocatedBy(() => AddThreeTags(counter)), Is.Zero);
        Assert.That(Scrapes.Samples(Scrapes.Of(exporter))["requests_total{client=\"alice\",model=\"gpt-oss:120b\",status=\"200\"}"], Is.EqualTo(Rounds + 2));
    }

    [Test]
    public void HistogramRecord_ExporterListening_AllocatesNothing()
    {
        using var meter = new Meter("allocation");
        var histogram = meter.CreateHistogram("seconds", "s", null, tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = ProxyMetrics.DurationBuckets });
        using var exporter = new PrometheusExporter(meter);

        Assert.That(AllocatedBy(() => histogram.Record(2.5, new TagList { { "client", s_client } })), Is.Zero);
    }

    [Test]
    public void RequestAndTokens_ExporterListening_AllocatesNothing()
    {
        using var metrics = new ProxyMetrics();
        using var exporter = new PrometheusExporter(metrics.Meter);
        var labels = new ModelLabel([new ClientDefinition(s_client, new byte[32], [s_model])]);
        var requested = Encoding.UTF8.GetBytes("GPT-OSS:120b");
        var duration = TimeSpan.FromSeconds(1.5);

        var allocated = AllocatedBy(() =>
        {
            var model = labels.For(requested);
            metrics.RequestCompleted(s_client, model, 200, duration, duration / 2, 10, 20);
        });

        Assert.That(allocated, Is.Zero);
        Assert.That(Scrapes.Samples(Scrapes.Of(exporter))["ollama_proxy_tokens_total{client=\"alice\",kind=\"completion\",model=\"gpt-oss:120b\"}"], Is.EqualTo(20 * (Rounds + 2)));
    }

    [Test]
    public void RequestAndTokens_NoListener_AllocatesNothing()
    {
        using var metrics = new ProxyMetrics();
        var duration = TimeSpan.FromSeconds(1.5);

        var allocated = AllocatedBy(() =>
        {
            metrics.RequestCompleted(s_client, s_model, 404, duration, null, 10, null);
        });

        Assert.That(allocated, Is.Zero);
    }

    [Test]
    public void ModelLabelLookup_AllocatesNothing()
    {
        var labels = new ModelLabel([new ClientDefinition(s_client, new byte[32], [s_model, "gemma3"])]);
        var served = Encoding.UTF8.GetBytes("qwen3:8b");
        labels.LearnServed(served);
        var known = Encoding.UTF8.GetBytes("Gemma3");
        var unknown = Encoding.UTF8.GetBytes("made-up:1b");

        var allocated = AllocatedBy(() =>
        {
            _ = labels.For(known);
            _ = labels.For(unknown);
            _ = labels.LearnServed(served);
        });

        Assert.That(allocated, Is.Zero);
    }

    /// <summary>
    /// Bytes allocated by <paramref name="action"/> run <see cref="Rounds"/> times, after two warm-up runs: the first
    /// makes the series and tallies, the second is the first to find them (a dictionary's first hit sets up what
    /// later lookups share).
    /// </summary>
    private static long AllocatedBy(Action action)
    {
        action();
        action();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Rounds; i++)
        {
            action();
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static void AddThreeTags(Counter<long> counter) =>
        counter.Add(1, new TagList { { "client", s_client }, { "model", s_model }, { "status", s_status } });
}
