using System.Net;
using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener;

/// <summary>The proxy: an accept loop on <see cref="ProxyOptions.Listen"/>, one <c>ClientConnection</c> per socket.</summary>
public sealed class ProxyServer : IAsyncDisposable
{
    public ProxyServer(ProxyOptions options, ILoggerFactory loggerFactory, TimeProvider? timeProvider = null)
    {
        throw new NotImplementedException();
    }

    /// <summary>The bound address (with the real port when <c>PROXY_LISTEN</c> asked for port 0).</summary>
    public IPEndPoint LocalEndPoint => throw new NotImplementedException();

    public Task StartAsync(CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Stops accepting, lets running requests finish until <paramref name="cancellationToken"/> fires, then aborts the rest.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => throw new NotImplementedException();

    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
