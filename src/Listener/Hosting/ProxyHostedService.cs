using Microsoft.Extensions.Hosting;

namespace OllamaSocketProxy.Listener;

/// <summary>Runs the <see cref="ProxyServer"/> for the host, with the shutdown grace period (docs/BEHAVIOUR.md#operations).</summary>
internal sealed class ProxyHostedService(ProxyServer server, ProxyOptions options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => server.StartAsync(cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(options.ShutdownTimeout);
        await server.StopAsync(grace.Token).ConfigureAwait(false);
    }
}
