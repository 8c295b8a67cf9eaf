namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// The figures of one series: a running sum, a last value, or a histogram's bucket counts and sum. Updated with
/// interlocked operations only, so recording threads never wait for each other or for a scrape.
/// </summary>
/// <remarks>
/// A histogram keeps no count of its own: <c>_count</c> is written as the total of its buckets, so a scrape that
/// runs during a recording still shows <c>_count</c> equal to the <c>+Inf</c> bucket. Only <c>_sum</c> may then
/// lack the measurement being recorded.
/// </remarks>
internal sealed class MetricSeries
{
    private readonly long[]? _bucketCounts;
    private double _value;

    public MetricSeries(SeriesKey key, int bucketCount)
    {
        Key = key;
        _bucketCounts = bucketCount > 0 ? new long[bucketCount] : null;
    }

    public SeriesKey Key { get; }

    /// <summary>The sum, the last value, or a histogram's sum.</summary>
    public double Value => Volatile.Read(ref _value);

    public void Add(double delta)
    {
        var current = Volatile.Read(ref _value);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _value, current + delta, current);
            if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current))
            {
                return;
            }

            current = seen;
        }
    }

    public void Set(double value) => Volatile.Write(ref _value, value);

    /// <summary>Counts <paramref name="value"/> in the first bucket whose upper bound is not below it (the last: <c>+Inf</c>).</summary>
    public void Observe(double value, double[] upperBounds)
    {
        var bucket = 0;
        while (bucket < upperBounds.Length && value > upperBounds[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _bucketCounts![bucket]);
        Add(value);
    }

    /// <summary>
    /// Copies the bucket counts into <paramref name="cumulative"/> (one per bound, then <c>+Inf</c>), each the count of
    /// its bucket and of every bucket below; returns the total.
    /// </summary>
    public long CopyCumulativeCounts(Span<long> cumulative)
    {
        var counts = _bucketCounts!;
        var total = 0L;
        for (var i = 0; i < counts.Length; i++)
        {
            total += Volatile.Read(ref counts[i]);
            cumulative[i] = total;
        }

        return total;
    }
}
