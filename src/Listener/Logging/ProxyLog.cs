using System.Net;
using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener;

/// <summary>Every log line the proxy writes. None takes a header value, a key or a token as an argument.</summary>
internal static partial class ProxyLog
{
    [LoggerMessage(1, LogLevel.Information, "Now listening on http://{EndPoint}, forwarding to {Upstream}")]
    public static partial void Listening(ILogger logger, IPEndPoint endPoint, string upstream);

    [LoggerMessage(2, LogLevel.Warning, "Listening on {EndPoint} beyond loopback without PROXY_AUTH_TOKEN: anyone who reaches this port spends your Ollama API key")]
    public static partial void OpenBeyondLoopback(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(3, LogLevel.Warning, "Unknown variable {Name} ignored (a typo?)")]
    public static partial void UnknownVariable(ILogger logger, string name);

    [LoggerMessage(4, LogLevel.Information, "{Peer} \"{Method} {Path}\" {Status} {BytesOut} ttfb={FirstByteMs:F1}ms total={TotalMs:F1}ms client={Client} model={Model} key={Key}")]
    public static partial void Access(
        ILogger logger, string peer, string method, string path, int status, long bytesOut, double firstByteMs, double totalMs, string client, string model, string key);

    [LoggerMessage(5, LogLevel.Warning, "{Client} request refused: {Status} {Reason}")]
    public static partial void Rejected(ILogger logger, string client, int status, string reason);

    [LoggerMessage(6, LogLevel.Warning, "{Client} {Error}: {Detail}")]
    public static partial void ForwardingFailed(ILogger logger, string client, ForwarderError error, string detail);

    [LoggerMessage(7, LogLevel.Debug, "{Client} retrying on a new upstream connection after a pooled one failed: {Detail}")]
    public static partial void Retrying(ILogger logger, string client, string detail);

    [LoggerMessage(8, LogLevel.Warning, "Connection limit {Limit} reached: refusing {Client} with 503")]
    public static partial void ConnectionLimit(ILogger logger, int limit, string client);

    [LoggerMessage(9, LogLevel.Information, "Stopping: {Connections} connection(s) open, waiting up to {Timeout}")]
    public static partial void Stopping(ILogger logger, int connections, TimeSpan timeout);

    [LoggerMessage(10, LogLevel.Warning, "Shutdown timeout: aborting {Connections} connection(s)")]
    public static partial void AbortingAtShutdown(ILogger logger, int connections);

    [LoggerMessage(11, LogLevel.Error, "Unexpected error on connection from {Client}")]
    public static partial void Unexpected(ILogger logger, Exception exception, string client);
}
