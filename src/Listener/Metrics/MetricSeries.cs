namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// The figures of one series: a running sum, a last value, or a histogram's bucket counts and sum. Updated with
/// interlocked operations only, so recording threads never wait for each other or for a scrape.
/// </summary>
/// <remarks>
/// <para>
/// Each processor adds to a stripe of its own (up to <see cref="MaxStripes"/>), and a scrape sums the stripes. A
/// proxy's requests end on every core and most of them count in the same few series: with one figure per series,
/// each measurement would take the cache line from the core that wrote it last, and with it the series' key that
/// every recording reads. The stripes are 128 bytes apart, and as far from the arrays' headers.
/// </para>
/// <para>
/// A histogram keeps no count of its own: <c>_count</c> is written as the total of its buckets, so a scrape that runs
/// during a recording still shows <c>_count</c> equal to the <c>+Inf</c> bucket. Only <c>_sum</c> may then lack the
/// measurement being recorded.
/// </para>
/// </remarks>
internal sealed class MetricSeries
{
    public const int MaxStripes = 16;

    /// <summary>128 bytes in elements of 8: no two stripes share a cache line, nor its neighbour that the hardware fetches with it.</summary>
    private const int Gap = 16;

    private static readonly int s_stripeMask = (int)Math.Min(MaxStripes, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount)) - 1;

    // Stripe s at Gap + s * Gap; a last value only in stripe 0.
    private readonly double[] _values;

    // Stripe s's buckets from Gap + s * _bucketStride on.
    private readonly long[]? _bucketCounts;
    private readonly int _bucketCount;
    private readonly int _bucketStride;

    public MetricSeries(SeriesKey key, int bucketCount)
    {
        Key = key;
        var stripes = s_stripeMask + 1;
        _values = new double[Gap + (stripes * Gap)];
        if (bucketCount > 0)
        {
            _bucketCount = bucketCount;
            _bucketStride = ((bucketCount + Gap - 1) / Gap * Gap) + Gap;
            _bucketCounts = new long[Gap + (stripes * _bucketStride)];
        }
    }

    public SeriesKey Key { get; }

    /// <summary>The sum, the last value, or a histogram's sum.</summary>
    public double Value
    {
        get
        {
            var total = 0.0;
            for (var i = Gap; i < _values.Length; i += Gap)
            {
                total += Volatile.Read(ref _values[i]);
            }

            return total;
        }
    }

    private static int Stripe => Thread.GetCurrentProcessorId() & s_stripeMask;

    public void Add(double delta) => Add(ref _values[Gap + (Stripe * Gap)], delta);

    /// <summary>A last value: in the first stripe alone, so that the last write wins whichever thread makes it.</summary>
    public void Set(double value) => Volatile.Write(ref _values[Gap], value);

    /// <summary>Counts <paramref name="value"/> in the first bucket whose upper bound is not below it (the last: <c>+Inf</c>).</summary>
    public void Observe(double value, double[] upperBounds)
    {
        var bucket = 0;
        while (bucket < upperBounds.Length && value > upperBounds[bucket])
        {
            bucket++;
        }

        var stripe = Stripe;
        Interlocked.Increment(ref _bucketCounts![Gap + (stripe * _bucketStride) + bucket]);
        Add(ref _values[Gap + (stripe * Gap)], value);
    }

    /// <summary>
    /// Copies the bucket counts into <paramref name="cumulative"/> (one per bound, then <c>+Inf</c>), each the count of
    /// its bucket and of every bucket below; returns the total.
    /// </summary>
    public long CopyCumulativeCounts(Span<long> cumulative)
    {
        var counts = _bucketCounts!;
        var total = 0L;
        for (var bucket = 0; bucket < _bucketCount; bucket++)
        {
            for (var i = Gap + bucket; i < counts.Length; i += _bucketStride)
            {
                total += Volatile.Read(ref counts[i]);
            }

            cumulative[bucket] = total;
        }

        return total;
    }

    private static void Add(ref double figure, double delta)
    {
        var current = Volatile.Read(ref figure);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref figure, current + delta, current);
            if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current))
            {
                return;
            }

            current = seen;
        }
    }
}
