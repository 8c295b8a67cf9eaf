using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>The gateway's log lines about its clients file (event ids 100-109). None takes a token or a digest.</summary>
internal static partial class GatewayLog
{
    [LoggerMessage(100, LogLevel.Information, "clients reloaded: {Count} clients")]
    public static partial void ClientsReloaded(ILogger logger, int count);

    [LoggerMessage(101, LogLevel.Error, "clients not reloaded, keeping the previous {Count} clients: {Error}")]
    public static partial void ClientsReloadFailed(ILogger logger, int count, string error);

    [LoggerMessage(102, LogLevel.Warning, "cannot watch {Path} for changes ({Reason}): reload the clients with SIGHUP")]
    public static partial void ClientsNotWatched(ILogger logger, string path, string reason);
}
