using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>The key pool's state changes, one line each; a key is named only by its label.</summary>
internal static partial class KeyPoolLog
{
    [LoggerMessage(200, LogLevel.Warning, "Upstream {Key} rate limited ({Limit} limit): benched for {Duration} until {Until:u} ({Source})")]
    public static partial void Benched(ILogger logger, string key, string limit, TimeSpan duration, DateTimeOffset until, string source);

    [LoggerMessage(201, LogLevel.Information, "Upstream {Key} back in service after its bench")]
    public static partial void Returned(ILogger logger, string key);

    [LoggerMessage(202, LogLevel.Error, "Upstream {Key} disabled until restart: the upstream answered {Status} (check OLLAMA_API_KEY)")]
    public static partial void Disabled(ILogger logger, string key, int status);

    [LoggerMessage(203, LogLevel.Warning, "Upstream {Key} bench extended ({Limit} limit named while benched): benched for {Duration} until {Until:u} ({Source})")]
    public static partial void BenchExtended(ILogger logger, string key, string limit, TimeSpan duration, DateTimeOffset until, string source);
}
