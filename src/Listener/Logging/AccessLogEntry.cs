using System.Text;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// What the access log says of one request (docs/BEHAVIOUR.md#operations): method, forwarded path, status, bytes
/// sent, time to first byte and total time. The texts are taken only when the access log is on, so with it off a
/// request allocates nothing; the numbers are always kept (they cost nothing).
/// </summary>
internal sealed class AccessLogEntry
{
    private string? _method;
    private string? _path;

    public int Status { get; set; }

    /// <summary>Bytes written to the client for this request, head included.</summary>
    public long BytesOut { get; set; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when the request's first byte was read.</summary>
    public long Started { get; private set; }

    /// <summary>When the response head was written, or 0.</summary>
    public long FirstByte { get; private set; }

    public void Reset(long started)
    {
        _method = _path = null;
        Status = 0;
        BytesOut = 0;
        Started = started;
        FirstByte = 0;
    }

    public void MarkFirstByte(TimeProvider clock, int status)
    {
        Status = status;
        FirstByte = clock.GetTimestamp();
    }

    /// <summary>
    /// Takes the method and path from the head while its bytes are still in the pipe (they are gone once consumed):
    /// the forwarded path without its query, since queries may carry values that do not belong in a log.
    /// </summary>
    public void Capture(RequestHead head, MappedTarget target)
    {
        _method = Encoding.ASCII.GetString(head.MethodBytes);
        // What the proxy answers itself (the health check, OPTIONS) is logged with the client's path; the rest with the forwarded one.
        var forwarded = head.Method != RequestMethod.Options
            && (target.Kind == TargetKind.Forward || (target.Kind == TargetKind.Root && head.Method is not (RequestMethod.Get or RequestMethod.Head)));
        _path = forwarded
            ? string.Concat(Encoding.ASCII.GetString(MappedTarget.PrefixBytes(target.Prefix)), Encoding.ASCII.GetString(PathOnly(head.Target[target.RestStart..])))
            : Encoding.ASCII.GetString(PathOnly(head.Target));
    }

    /// <param name="client">The client's name, once authenticated; <paramref name="model"/> and <paramref name="key"/> likewise when known.</param>
    public void Write(ILogger log, string peer, TimeProvider clock, string? client, string? model, string? key)
    {
        var firstByte = FirstByte == 0 ? 0 : clock.GetElapsedTime(Started, FirstByte).TotalMilliseconds;
        ProxyLog.Access(
            log, peer, _method ?? "-", _path ?? "-", Status, BytesOut, firstByte, clock.GetElapsedTime(Started).TotalMilliseconds,
            client ?? "-", model ?? "-", key ?? "-");
    }

    private static ReadOnlySpan<byte> PathOnly(ReadOnlySpan<byte> target)
    {
        var query = target.IndexOf((byte)'?');
        return query < 0 ? target : target[..query];
    }
}
