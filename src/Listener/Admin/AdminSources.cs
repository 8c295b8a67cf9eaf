using System.Buffers;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Listener.Usage;

namespace OllamaSocketProxy.Listener.Admin;

/// <summary>
/// What the admin listener reads, and nothing else: each figure is a callback into the proxy, asked when a request
/// needs it. <see cref="ProxyServer"/> builds one from its own state; tests pass fakes. Every callback runs on the
/// admin listener's threads, so it must be thread-safe and cheap, except <see cref="QueryUsage"/>, which blocks and is
/// run off the I/O path.
/// </summary>
public sealed class AdminSources
{
    /// <summary><see cref="UsageState"/>: the usage database was written at the last flush (or not yet tried).</summary>
    public const string UsageOk = "ok";

    /// <summary><see cref="UsageState"/>: <c>PROXY_USAGE_DB=off</c>.</summary>
    public const string UsageOff = "off";

    /// <summary><see cref="UsageState"/>: the last write to the usage database failed (the sums wait in memory).</summary>
    public const string UsageFailing = "failing";

    /// <summary>Writes the Prometheus text exposition of the proxy's metrics (<see cref="Metrics.PrometheusExporter.Scrape"/>).</summary>
    public required Action<IBufferWriter<byte>> ScrapeMetrics { get; init; }

    /// <summary>Sums the usage database's rows (<see cref="UsageStore.Query"/>); null when the database is off. Blocks.</summary>
    public Func<UsageQuery, UsageQueryResult>? QueryUsage { get; init; }

    /// <summary><see cref="UsageOk"/>, <see cref="UsageOff"/> or <see cref="UsageFailing"/>.</summary>
    public required Func<string> UsageState { get; init; }

    /// <summary>Every upstream key's state (<see cref="UpstreamKeyPool.Snapshot"/>): labels, never keys.</summary>
    public required Func<IReadOnlyList<KeyStatus>> Keys { get; init; }

    /// <summary>
    /// Requests begun and not yet ended, on all client connections, and how many of them hold an upstream connection:
    /// one count of both, so that they describe the same moment.
    /// </summary>
    public required Func<(int InFlight, int Busy)> Requests { get; init; }

    /// <summary>Client connections open on the API port.</summary>
    public required Func<int> ClientConnections { get; init; }

    /// <summary>Upstream connections waiting in the pool.</summary>
    public required Func<int> IdleUpstreamConnections { get; init; }

    /// <summary>The API listener accepts connections (false before start and once stopping).</summary>
    public required Func<bool> Listening { get; init; }

    /// <summary>When the proxy started.</summary>
    public required DateTimeOffset Started { get; init; }
}
