using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// Where <see cref="ProxyMetrics"/> reads the figures it does not record itself, when a scrape (or
/// <c>dotnet-counters</c>) asks. Each callback runs on the scraping thread, so it should be quick and must be
/// thread-safe; a source left null reports nothing.
/// </summary>
public sealed class ProxyMetricsSources
{
    /// <summary>Every upstream key's state: <see cref="UpstreamKeyPool.Snapshot"/>.</summary>
    public Func<IReadOnlyList<KeyStatus>>? Keys { get; init; }

    /// <summary>The client connections open now.</summary>
    public Func<long>? ClientConnections { get; init; }

    /// <summary>The upstream connections that wait in the pool for a request.</summary>
    public Func<long>? IdleUpstreamConnections { get; init; }

    /// <summary>The upstream connections that carry a request now.</summary>
    public Func<long>? BusyUpstreamConnections { get; init; }

    /// <summary>Failed attempts to open or write the usage database since start (<see cref="Usage.UsageRecorder.ErrorCount"/>).</summary>
    public Func<long>? UsageDbErrors { get; init; }
}
