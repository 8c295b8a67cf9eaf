using System.Buffers;
using System.Diagnostics.Metrics;

namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// Serves one <see cref="Meter"/> to Prometheus: a <see cref="MeterListener"/> sums what its counters record, keeps
/// its gauges' last values and its histograms' buckets, per tag set; <see cref="Scrape"/> polls the observable
/// instruments and writes every family in the text exposition format, version 0.0.4 (<see cref="PrometheusTextWriter"/>).
/// </summary>
/// <remarks>
/// Only the instruments of the given <see cref="Meter"/> instance are read, not every meter of that name: two
/// exporters in one process (tests) never see each other's figures. Thread-safe: recording threads update their
/// series with interlocked operations and never wait; scrapes are serialized with each other only. Recording
/// allocates only when it meets a tag set for the first time.
/// </remarks>
public sealed class PrometheusExporter : IDisposable
{
    private readonly Meter _meter;
    private readonly MeterListener _listener;
    private readonly Lock _scrapeGate = new();
    private readonly Lock _familiesGate = new();

    // Sorted by name; replaced whole when an instrument is published, so a scrape reads it without a lock.
    private volatile InstrumentAggregate[] _families = [];

    public PrometheusExporter(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _meter = meter;
        _listener = new MeterListener { InstrumentPublished = OnInstrumentPublished };
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentAggregate)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentAggregate)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((InstrumentAggregate)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentAggregate)state!).Record(value, tags));

        // Publishes the meter's instruments created so far; later ones are published as they are created.
        _listener.Start();
    }

    /// <summary>
    /// Writes every family of the meter to <paramref name="output"/>, families sorted by name and series by labels.
    /// Observable instruments are polled first, on this thread; an exception their callbacks throw comes out of here
    /// (as <see cref="AggregateException"/>) before anything is written.
    /// </summary>
    public void Scrape(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var writer = new PrometheusTextWriter(output);
        lock (_scrapeGate)
        {
            _listener.RecordObservableInstruments();
            foreach (var family in _families)
            {
                family.WriteTo(writer);
            }
        }
    }

    public void Dispose() => _listener.Dispose();

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!ReferenceEquals(instrument.Meter, _meter))
        {
            return;
        }

        var aggregate = InstrumentAggregate.TryCreate(instrument);
        if (aggregate is null)
        {
            return;
        }

        lock (_familiesGate)
        {
            // A second instrument of the same family name would write the family twice, which the format forbids.
            if (Array.Exists(_families, f => string.Equals(f.Name, aggregate.Name, StringComparison.Ordinal)))
            {
                return;
            }

            var families = new InstrumentAggregate[_families.Length + 1];
            _families.CopyTo(families, 0);
            families[^1] = aggregate;
            Array.Sort(families, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            _families = families;
        }

        listener.EnableMeasurementEvents(instrument, aggregate);
    }
}
