using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Upstream;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// What every client connection shares: options, the upstream pool, the clients and keys, authentication and the
/// policies, the logs, the clock.
/// </summary>
internal sealed class ProxyContext
{
    public ProxyContext(
        ProxyOptions options, UpstreamPool pool, IReadOnlyList<RequestPolicy> extraPolicies, ILoggerFactory loggerFactory,
        TimeProvider timeProvider, CancellationToken shutdown)
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

        // In the order they are asked: fields for every response first; then what refuses without cost; the key last,
        // so a refused request takes none (README.md#several-clients-and-keys).
        Policies = new RequestPolicies([
            new CorsFields(options.Origins),
            new ModelAccessPolicy(options.AccessLog),
            new ClientLimitPolicy(Clients, timeProvider),
            new UpstreamKeyPolicy(Keys),
            .. extraPolicies]);

        // A gateway holds bodies up to 1 MiB, so a 429 can be retried on another key and a model list checked whole.
        HeldBodyLimit = options.ApiKeys.Count > 1 || options.ClientsFile is not null ? 1024 * 1024 : 64 * 1024;
        InputPauseThreshold = Math.Max(256 * 1024, 2 * (options.Limits.MaxHeadSize + HeldBodyLimit));
    }

    public ProxyOptions Options { get; }
    public UpstreamPool Pool { get; }
    public RequestRewriter Rewriter { get; }
    public ClientRegistrySource Clients { get; }
    public UpstreamKeyPool Keys { get; }
    public TokenAuthentication Authentication { get; }
    public RequestPolicies Policies { get; }
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
}
