using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;

namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// What one instrument recorded, per tag set, and how it reads as a Prometheus family: a counter's sum, a gauge's
/// last value, or a histogram's buckets.
/// </summary>
internal sealed class InstrumentAggregate
{
    /// <summary>Bounds for a histogram that advises none, OpenTelemetry's defaults.</summary>
    private static readonly double[] s_defaultBounds = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly ConcurrentDictionary<SeriesKey, MetricSeries> _series = new(SeriesKeyComparer.Instance);
    private readonly ConcurrentDictionary<SeriesKey, MetricSeries>.AlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>> _lookup;
    private readonly Aggregation _aggregation;
    private readonly byte[] _name;
    private readonly double[] _bounds;
    private readonly byte[][] _bucketLabels;

    // The two series recorded last, tried before the lookup: a proxy's requests come from a few clients and models, so
    // the same tags come again and again (and a request's two token counts alternate between two series). Racy on
    // purpose: a stale or lost write only sends a measurement the slower way.
    private MetricSeries? _recent;
    private MetricSeries? _previous;

    private InstrumentAggregate(Instrument instrument, Aggregation aggregation, PrometheusMetricType type, double[] bounds)
    {
        _lookup = _series.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
        _aggregation = aggregation;
        Type = type;
        Help = instrument.Description;
        var name = PrometheusTextWriter.SanitizeMetricName(instrument.Name);
        if (type == PrometheusMetricType.Counter && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            name += "_total";
        }

        Name = name;
        _name = Encoding.UTF8.GetBytes(name);
        _bounds = bounds;
        _bucketLabels = new byte[bounds.Length + 1][];
        for (var i = 0; i < _bucketLabels.Length; i++)
        {
            var labels = new System.Buffers.ArrayBufferWriter<byte>();
            new PrometheusTextWriter(labels).WriteLabelPair("le", i < bounds.Length ? LeText(bounds[i]) : "+Inf", first: true);
            _bucketLabels[i] = labels.WrittenSpan.ToArray();
        }
    }

    private enum Aggregation
    {
        Sum,
        LastValue,
        Histogram,
    }

    /// <summary>The family's name: the instrument's, sanitized, with <c>_total</c> for a counter.</summary>
    public string Name { get; }

    public string? Help { get; }

    public PrometheusMetricType Type { get; }

    /// <summary>
    /// The aggregate for <paramref name="instrument"/>, or null for an instrument of a kind or number type this
    /// exporter does not read (it reads int, long, float and double).
    /// </summary>
    public static InstrumentAggregate? TryCreate(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }

        var argument = type.GetGenericArguments()[0];
        if (argument != typeof(int) && argument != typeof(long) && argument != typeof(float) && argument != typeof(double))
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        if (definition == typeof(Counter<>))
        {
            return new InstrumentAggregate(instrument, Aggregation.Sum, PrometheusMetricType.Counter, []);
        }

        if (definition == typeof(ObservableCounter<>))
        {
            // An observable counter reports its running total: the last value is the sum.
            return new InstrumentAggregate(instrument, Aggregation.LastValue, PrometheusMetricType.Counter, []);
        }

        if (definition == typeof(UpDownCounter<>))
        {
            return new InstrumentAggregate(instrument, Aggregation.Sum, PrometheusMetricType.Gauge, []);
        }

        if (definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>) || definition == typeof(Gauge<>))
        {
            return new InstrumentAggregate(instrument, Aggregation.LastValue, PrometheusMetricType.Gauge, []);
        }

        if (definition == typeof(Histogram<>))
        {
            return new InstrumentAggregate(instrument, Aggregation.Histogram, PrometheusMetricType.Histogram, BoundsOf(instrument));
        }

        return null;
    }

    /// <summary>Adds <paramref name="value"/> to the series of <paramref name="tags"/>; allocates only for a new series.</summary>
    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (double.IsNaN(value))
        {
            return;
        }

        var series = _recent;
        if (series is null || !series.Key.IsRecordedAs(tags))
        {
            series = _previous;
            if (series is null || !series.Key.IsRecordedAs(tags))
            {
                if (!_lookup.TryGetValue(tags, out series))
                {
                    series = AddSeries(tags);
                }

                _previous = _recent;
                _recent = series;
            }
        }

        switch (_aggregation)
        {
            case Aggregation.Sum:
                series.Add(value);
                break;
            case Aggregation.LastValue:
                series.Set(value);
                break;
            default:
                series.Observe(value, _bounds);
                break;
        }
    }

    /// <summary>The family: its header, then its series ordered by their label lists.</summary>
    public void WriteTo(PrometheusTextWriter writer)
    {
        // Enumerating takes no lock (Values and Count would take them all, holding up the recording of a new series).
        var series = new List<MetricSeries>();
        foreach (var pair in _series)
        {
            series.Add(pair.Value);
        }

        series.Sort(static (a, b) => a.Key.Labels.AsSpan().SequenceCompareTo(b.Key.Labels));
        writer.WriteFamilyHeader(_name, Help, Type);
        Span<long> cumulative = _bucketLabels.Length <= 64 ? stackalloc long[_bucketLabels.Length] : new long[_bucketLabels.Length];
        foreach (var one in series)
        {
            if (_aggregation != Aggregation.Histogram)
            {
                writer.WriteSample(_name, default, one.Key.Labels, default, one.Value);
                continue;
            }

            var count = one.CopyCumulativeCounts(cumulative);
            for (var i = 0; i < cumulative.Length; i++)
            {
                writer.WriteSample(_name, "_bucket"u8, one.Key.Labels, _bucketLabels[i], cumulative[i]);
            }

            writer.WriteSample(_name, "_sum"u8, one.Key.Labels, default, one.Value);
            writer.WriteSample(_name, "_count"u8, one.Key.Labels, default, count);
        }
    }

    private MetricSeries AddSeries(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = SeriesKey.Create(tags);
        var bucketCount = _aggregation == Aggregation.Histogram ? _bounds.Length + 1 : 0;
        return _series.GetOrAdd(key, static (key, count) => new MetricSeries(key, count), bucketCount);
    }

    private static double[] BoundsOf(Instrument instrument)
    {
        IEnumerable<double>? advised = instrument switch
        {
            Instrument<double> d => d.Advice?.HistogramBucketBoundaries,
            Instrument<float> f => f.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
            Instrument<long> l => l.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
            Instrument<int> i => i.Advice?.HistogramBucketBoundaries?.Select(b => (double)b),
            _ => null,
        };

        // The advice is sorted and distinct by contract; a bound of +Inf would repeat the bucket written last.
        return advised is null ? s_defaultBounds : [.. advised.Where(double.IsFinite)];
    }

    /// <summary>A bound as the <c>le</c> label shows it: the shortest text that reads back as the same double.</summary>
    private static string LeText(double bound) => bound.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
