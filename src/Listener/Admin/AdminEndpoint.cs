namespace OllamaSocketProxy.Listener.Admin;

/// <summary>What an admin request asks for, by its path (README.md#usage-and-metrics).</summary>
internal enum AdminEndpoint : byte
{
    /// <summary>No such path: 404.</summary>
    None,

    /// <summary><c>/healthz</c>: the process answers.</summary>
    Health,

    /// <summary><c>/readyz</c>: the API listener is up and some upstream key may serve.</summary>
    Ready,

    /// <summary><c>/metrics</c>: the Prometheus text exposition.</summary>
    Metrics,

    /// <summary><c>/usage</c>: the usage database's totals, as JSON.</summary>
    Usage,

    /// <summary><c>/status</c>: connections, requests and keys now, as JSON.</summary>
    Status,

    /// <summary><c>/</c> and <c>/index.html</c>: the dashboard page.</summary>
    Dashboard,
}

/// <summary>Finds the <see cref="AdminEndpoint"/> of a request-target, and says which endpoints are probes.</summary>
internal static class AdminEndpoints
{
    /// <summary>
    /// The endpoint of <paramref name="target"/> (origin-form, or absolute-form, whose authority is ignored: RFC 9112
    /// §3.2.2), and its query without the <c>?</c>. Paths match exactly, case-sensitively (RFC 3986 §6.2.2.1).
    /// </summary>
    public static AdminEndpoint Find(ReadOnlySpan<byte> target, out ReadOnlySpan<byte> query)
    {
        query = default;
        if (!TryPathAndQuery(target, out var path))
        {
            return AdminEndpoint.None;
        }

        var queryStart = path.IndexOf((byte)'?');
        if (queryStart >= 0)
        {
            query = path[(queryStart + 1)..];
            path = path[..queryStart];
        }

        return path switch
        {
            _ when path.SequenceEqual("/healthz"u8) => AdminEndpoint.Health,
            _ when path.SequenceEqual("/readyz"u8) => AdminEndpoint.Ready,
            _ when path.SequenceEqual("/metrics"u8) => AdminEndpoint.Metrics,
            _ when path.SequenceEqual("/usage"u8) => AdminEndpoint.Usage,
            _ when path.SequenceEqual("/status"u8) => AdminEndpoint.Status,
            _ when path.IsEmpty || path.SequenceEqual("/"u8) || path.SequenceEqual("/index.html"u8) => AdminEndpoint.Dashboard,
            _ => AdminEndpoint.None,
        };
    }

    /// <summary>
    /// The endpoints a monitor polls (Prometheus, a container's health check), which tell nothing about who uses the
    /// proxy: open on loopback, and off loopback with <c>PROXY_ADMIN_METRICS_OPEN</c>.
    /// </summary>
    public static bool IsProbe(AdminEndpoint endpoint) => endpoint is AdminEndpoint.Health or AdminEndpoint.Ready or AdminEndpoint.Metrics;

    /// <summary>The endpoints that answer JSON, their errors included; the others answer text or HTML.</summary>
    public static bool AnswersJson(AdminEndpoint endpoint) => endpoint is AdminEndpoint.Usage or AdminEndpoint.Status;

    /// <summary>
    /// An origin-form target as is; of an absolute-form target, what follows its authority (empty for none). False for
    /// any other form (<c>*</c>, an authority alone).
    /// </summary>
    private static bool TryPathAndQuery(ReadOnlySpan<byte> target, out ReadOnlySpan<byte> pathAndQuery)
    {
        pathAndQuery = target;
        if (!target.IsEmpty && target[0] == '/')
        {
            return true;
        }

        var scheme = target.IndexOf("://"u8);
        if (scheme <= 0)
        {
            return false;
        }

        var afterScheme = target[(scheme + 3)..];
        var end = afterScheme.IndexOfAny("/?"u8);
        pathAndQuery = end < 0 ? default : afterScheme[end..];
        return true;
    }
}
