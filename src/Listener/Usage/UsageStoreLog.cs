using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>The usage store's state changes, one line each: a failing store is logged when it starts and when it ends.</summary>
internal static partial class UsageStoreLog
{
    [LoggerMessage(400, LogLevel.Information, "Usage database {Path} migrated from schema version {From} to {To}")]
    public static partial void Migrated(ILogger logger, string path, int from, int to);

    [LoggerMessage(401, LogLevel.Warning, "Usage database {Path} failing, usage is kept in memory and retried at each flush: {Reason}")]
    public static partial void Failing(ILogger logger, string path, string reason);

    [LoggerMessage(402, LogLevel.Information, "Usage database {Path} written again after {Errors} failed attempts")]
    public static partial void Recovered(ILogger logger, string path, long errors);

    [LoggerMessage(403, LogLevel.Warning, "Usage records dropped: the hourly rows in memory reached their bound, or the recorder had stopped ({Dropped} so far)")]
    public static partial void Dropping(ILogger logger, long dropped);

    [LoggerMessage(404, LogLevel.Information, "Usage records no longer dropped ({Dropped} in all)")]
    public static partial void StoppedDropping(ILogger logger, long dropped);

    [LoggerMessage(405, LogLevel.Information, "Usage database {Path}: {Rows} hourly rows older than {Days} days dropped")]
    public static partial void Pruned(ILogger logger, string path, int rows, int days);
}
