using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Upstream;

namespace OllamaSocketProxy.Listener;

/// <summary>What every client connection shares: options, the upstream pool, authentication and policies, the logs, the clock.</summary>
internal sealed class ProxyContext(
    ProxyOptions options,
    UpstreamPool pool,
    RequestPolicies policies,
    ILoggerFactory loggerFactory,
    TimeProvider timeProvider,
    CancellationToken shutdown)
{
    /// <summary>
    /// Content-Length bodies up to this size are read whole before anything is sent, so a pooled upstream
    /// connection that turns out dead can be replaced and the request sent again (docs/BEHAVIOUR.md#connections).
    /// </summary>
    public const int HeldBodyLimit = 64 * 1024;

    public ProxyOptions Options { get; } = options;
    public UpstreamPool Pool { get; } = pool;
    public RequestRewriter Rewriter { get; } = new(UpstreamEndpoint.FromUri(options.UpstreamUrl).Authority, options.ApiKey);
    public TokenAuthentication Authentication { get; } = new(options.AuthToken);
    public RequestPolicies Policies { get; } = policies;
    public TimeProvider TimeProvider { get; } = timeProvider;
    public DateHeader Date { get; } = new(timeProvider);
    public ILogger Log { get; } = loggerFactory.CreateLogger("OllamaSocketProxy");
    public ILogger AccessLog { get; } = loggerFactory.CreateLogger("OllamaSocketProxy.Access");

    /// <summary>Fires when the shutdown grace period is over: every request still running is aborted.</summary>
    public CancellationToken Shutdown { get; } = shutdown;

    /// <summary>The client pipe must hold a full head and a held body without pausing the receive loop.</summary>
    public long InputPauseThreshold { get; } = Math.Max(256 * 1024, 2 * (options.Limits.MaxHeadSize + HeldBodyLimit));
}
