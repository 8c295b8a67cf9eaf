using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Listener.Metrics;
using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Upstream;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// What every client connection shares: options, the upstream pool, the clients and keys, authentication and the
/// policies, the metrics and the usage recorder, the logs, the clock.
/// </summary>
internal sealed class ProxyContext : IAsyncDisposable
{
    /// <param name="clientConnections">The client connections open now, for the metrics (the server counts them).</param>
    /// <param name="busyUpstreamConnections">The upstream connections carrying a request now, for the metrics.</param>
    public ProxyContext(
        ProxyOptions options, UpstreamPool pool, IReadOnlyList<RequestPolicy> extraPolicies, ILoggerFactory loggerFactory,
        TimeProvider timeProvider, CancellationToken shutdown, Func<long>? clientConnections = null, Func<long>? busyUpstreamConnections = null)
    {
        Options = options;
        Pool = pool;
        TimeProvider = timeProvider;
        Shutdown = shutdown;
        Log = loggerFactory.CreateLogger("OllamaSocketProxy");
        AccessLog = loggerFactory.CreateLogger("OllamaSocketProxy.Access");
        Date = new DateHeader(timeProvider);
        Rewriter = new RequestRewriter(UpstreamEndpoint.FromUri(options.UpstreamUrl).Authority);
        Clients = new ClientRegistrySource(options.ClientsFile, options.AuthToken, Log, timeProvider);
        Keys = new UpstreamKeyPool(options.ApiKeys, timeProvider, Log);
        Authentication = new TokenAuthentication(Clients);

        // The usage store is written by the recorder's own thread; opening it is that thread's first write, so a
        // database that cannot be opened is logged and counted there and never stops the proxy.
        var usageLog = loggerFactory.CreateLogger("OllamaSocketProxy.Usage");
        UsageStore = string.Equals(options.UsageDb, UsageStore.Off, StringComparison.OrdinalIgnoreCase)
            ? null
            : new UsageStore(options.UsageDb, timeProvider, usageLog, options.UsageRetention);
        Usage = UsageStore is null ? null : new UsageRecorder(UsageStore, timeProvider, usageLog);
        var usage = Usage;
        Metrics = new ProxyMetrics(new ProxyMetricsSources
        {
            Keys = Keys.Snapshot,
            ClientConnections = clientConnections,
            IdleUpstreamConnections = () => pool.IdleCount,
            BusyUpstreamConnections = busyUpstreamConnections,
            UsageDbErrors = usage is null ? null : () => usage.ErrorCount,
        });
        Exporter = options.AdminListen is null ? null : new PrometheusExporter(Metrics.Meter);
        var modelLabels = new ModelLabel([]);

        // In the order they are asked: usage first, so it hears the end of every request, refused ones included;
        // then fields for every response; then what refuses without cost; the key last, so a refused request takes
        // none (README.md#several-clients-and-keys).
        IReadOnlyList<RequestPolicy> usagePolicy = Usage is null && Exporter is null
            ? []
            : [new UsagePolicy(Usage, Metrics, modelLabels, Clients, timeProvider)];
        Policies = new RequestPolicies([
            .. usagePolicy,
            new CorsFields(options.Origins),
            new ModelAccessPolicy(options.AccessLog),
            new ClientLimitPolicy(Clients, timeProvider),
            new UpstreamKeyPolicy(Keys),
            .. extraPolicies]);

        // A gateway holds bodies up to 1 MiB, so a 429 can be retried on another key and a model list checked whole.
        // Counting usage holds them too, to read the model they name.
        HeldBodyLimit = options.ApiKeys.Count > 1 || options.ClientsFile is not null || usagePolicy.Count > 0 ? 1024 * 1024 : 64 * 1024;
        InputPauseThreshold = Math.Max(256 * 1024, 2 * (options.Limits.MaxHeadSize + HeldBodyLimit));
    }

    public ProxyOptions Options { get; }
    public UpstreamPool Pool { get; }
    public RequestRewriter Rewriter { get; }
    public ClientRegistrySource Clients { get; }
    public UpstreamKeyPool Keys { get; }
    public TokenAuthentication Authentication { get; }
    public RequestPolicies Policies { get; }

    /// <summary>The proxy's instruments (<c>/metrics</c>, <c>dotnet-counters</c>).</summary>
    public ProxyMetrics Metrics { get; }

    /// <summary>Serves <see cref="Metrics"/> at the admin listener's <c>/metrics</c>; null when that listener is off.</summary>
    public PrometheusExporter? Exporter { get; }

    /// <summary>The usage database, for queries; null when <c>PROXY_USAGE_DB</c> is <c>off</c>.</summary>
    public UsageStore? UsageStore { get; }

    /// <summary>Takes finished requests to <see cref="UsageStore"/>; null when it is off.</summary>
    public UsageRecorder? Usage { get; }
    public TimeProvider TimeProvider { get; }
    public DateHeader Date { get; }
    public ILogger Log { get; }
    public ILogger AccessLog { get; }

    /// <summary>Fires when the shutdown grace period is over: every request still running is aborted.</summary>
    public CancellationToken Shutdown { get; }

    /// <summary>
    /// Content-Length bodies up to this size are read whole before anything is sent, so the request can be sent again:
    /// on a pooled upstream connection that turns out dead (docs/BEHAVIOUR.md#connections), or with another key.
    /// </summary>
    public int HeldBodyLimit { get; }

    /// <summary>The client pipe must hold a full head and a held body without pausing the receive loop.</summary>
    public long InputPauseThreshold { get; }

    /// <summary>Writes the usage counted so far (one last flush) and stops the metrics.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Usage is not null)
        {
            await Usage.DisposeAsync().ConfigureAwait(false);
        }

        Exporter?.Dispose();
        Metrics.Dispose();
    }
}
