using System.Net;
using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener.Admin;

/// <summary>The admin listener's log lines. None takes a header value or a token.</summary>
internal static partial class AdminLog
{
    /// <summary>The start-up line; tests and scripts read the bound port from it when the setting asked for port 0.</summary>
    [LoggerMessage(500, LogLevel.Information, "Admin listening on http://{EndPoint}")]
    public static partial void Listening(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(501, LogLevel.Warning, "Admin connection limit {Limit} reached: closing the connection from {Peer}")]
    public static partial void ConnectionLimit(ILogger logger, int limit, string peer);

    [LoggerMessage(502, LogLevel.Debug, "Admin {Peer} \"{Method} {Path}\" {Status}")]
    public static partial void Answered(ILogger logger, string peer, string method, string path, int status);

    [LoggerMessage(503, LogLevel.Debug, "Admin connection from {Peer} closed: {Reason}")]
    public static partial void Closed(ILogger logger, string peer, string reason);

    [LoggerMessage(504, LogLevel.Warning, "Admin /usage: the usage database could not be read: {Reason}")]
    public static partial void UsageQueryFailed(ILogger logger, string reason);

    [LoggerMessage(505, LogLevel.Error, "Admin /metrics: the metrics could not be collected")]
    public static partial void ScrapeFailed(ILogger logger, Exception exception);

    [LoggerMessage(506, LogLevel.Error, "Unexpected error on the admin connection from {Peer}")]
    public static partial void Unexpected(ILogger logger, Exception exception, string peer);
}
