using System.Diagnostics;
using System.Diagnostics.Metrics;
using OllamaSocketProxy.Listener.Metrics;

namespace OllamaSocketProxy.Tests.Listener.Metrics;

/// <summary>Scrapes while four threads record: every scrape is well formed and consistent, the last one exact.</summary>
[NonParallelizable]
public sealed class PrometheusExporterConcurrencyTests
{
    private const int Threads = 4;
    private const int ScrapesWhileRecording = 20;
    private const int MinimumPerThread = 20_000;
    private static readonly string[] s_clients = ["alice", "bob", "carol"];

    [Test]
    public void ScrapeWhileFourThreadsRecord_ConsistentAndExact()
    {
        using var meter = new Meter("concurrency");
        var requests = meter.CreateCounter<long>("requests");
        var seconds = meter.CreateHistogram("seconds", "s", null, tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 4] });
        using var exporter = new PrometheusExporter(meter);
        var scrapes = 0;
        var stop = false;
        var recorded = new long[Threads, s_clients.Length];

        using var start = new Barrier(Threads + 1);
        var recorders = Enumerable.Range(0, Threads).Select(thread => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var i = 0; (i < MinimumPerThread || Volatile.Read(ref scrapes) < ScrapesWhileRecording) && !Volatile.Read(ref stop); i++)
            {
                var client = i % s_clients.Length;
                var tags = new TagList { { "client", s_clients[client] } };
                requests.Add(1, tags);

                // Values 1, 2, 3, 4, 5 in turn: one in each bucket of 1, 2 and +Inf, two in the bucket of 4.
                seconds.Record((i % 5) + 1, tags);
                recorded[thread, client]++;
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        start.SignalAndWait();
        try
        {
            var previous = new Dictionary<string, double>();
            while (!Array.TrueForAll(recorders, r => r.IsCompleted))
            {
                var samples = Scrapes.Samples(Scrapes.Of(exporter));
                AssertConsistent(samples, previous);
                previous = samples;
                Interlocked.Increment(ref scrapes);
            }
        }
        finally
        {
            // A failed check must not leave the recorders waiting for scrapes that never come.
            Volatile.Write(ref stop, true);
            Task.WaitAll(recorders);
        }

        var final = Scrapes.Samples(Scrapes.Of(exporter));
        Assert.That(Volatile.Read(ref scrapes), Is.GreaterThanOrEqualTo(ScrapesWhileRecording));
        for (var client = 0; client < s_clients.Length; client++)
        {
            var count = Enumerable.Range(0, Threads).Sum(thread => recorded[thread, client]);
            var name = s_clients[client];
            Assert.That(final[$"requests_total{{client=\"{name}\"}}"], Is.EqualTo(count), name);
            Assert.That(final[$"seconds_count{{client=\"{name}\"}}"], Is.EqualTo(count), name);
        }

        var total = final.Where(s => s.Key.StartsWith("seconds_count", StringComparison.Ordinal)).Sum(s => s.Value);
        var sum = final.Where(s => s.Key.StartsWith("seconds_sum", StringComparison.Ordinal)).Sum(s => s.Value);
        Assert.That(total, Is.EqualTo(recorded.Cast<long>().Sum()));
        Assert.That(sum, Is.GreaterThan(total).And.LessThanOrEqualTo(total * 5));
    }

    /// <summary>Histogram buckets grow with their bound and end at <c>_count</c>; no figure goes down between scrapes.</summary>
    private static void AssertConsistent(Dictionary<string, double> samples, Dictionary<string, double> previous)
    {
        foreach (var client in s_clients)
        {
            if (!samples.TryGetValue($"seconds_count{{client=\"{client}\"}}", out var count))
            {
                continue;
            }

            var buckets = new[] { "1", "2", "4", "+Inf" }.Select(le => samples[$"seconds_bucket{{client=\"{client}\",le=\"{le}\"}}"]).ToArray();
            Assert.That(buckets, Is.Ordered, client);
            Assert.That(buckets[^1], Is.EqualTo(count), client);
        }

        foreach (var (series, value) in previous)
        {
            Assert.That(samples[series], Is.GreaterThanOrEqualTo(value), series);
        }
    }
}
