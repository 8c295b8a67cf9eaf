using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// Everything the proxy is configured with, read once at start from environment variables
/// (docs/BEHAVIOUR.md#configuration). <see cref="FromEnvironment"/> is the only way to make one: every value,
/// defaults included, comes from its entry in <see cref="Settings.All"/>. A variant is made with <c>with</c>.
/// </summary>
public sealed record ProxyOptions
{
    private ProxyOptions()
    {
    }

    /// <summary>
    /// The keys sent upstream as <c>Authorization: Bearer &lt;key&gt;</c>, in turn (README.md#several-clients-and-keys).
    /// Never logged: a log line names a key by its label.
    /// </summary>
    public IReadOnlyList<Gateway.UpstreamKey> ApiKeys { get; init; } = [];

    /// <summary>The token of the client named <c>default</c>; with no clients file either, the proxy is open.</summary>
    public string? AuthToken { get; init; }

    /// <summary>The JSON file of named clients, their token hashes, models and limits; re-read on SIGHUP and on change.</summary>
    public string? ClientsFile { get; init; }

    /// <summary>Peers allowed to connect; <c>null</c> allows every peer.</summary>
    public Gateway.PeerAllowList? AllowCidrs { get; init; }

    /// <summary>The origins a browser page may call the proxy from (CORS).</summary>
    public Gateway.CorsPolicy Origins { get; init; } = Gateway.CorsPolicy.Default;

    // Set by their settings, which all have defaults; null only until FromEnvironment has applied them.
    public IPEndPoint Listen { get; init; } = null!;
    public Uri UpstreamUrl { get; init; } = null!;
    public X509Certificate2Collection? UpstreamCaCertificates { get; init; }

    public RequestLimits Limits { get; init; } = RequestLimits.Default;
    public TimeSpan RequestHeadTimeout { get; init; }
    public TimeSpan KeepAliveTimeout { get; init; }
    public int MaxConnections { get; init; }
    public long MaxRequestBodySize { get; init; }

    /// <summary>Slowest request body the proxy accepts, in bytes a second, after a grace period (Kestrel: 240 B/s after 5 s).</summary>
    public double MinRequestBodyRate { get; init; }
    public TimeSpan MinRequestBodyRateGrace { get; init; }

    public TimeSpan UpstreamConnectTimeout { get; init; }

    /// <summary>Time allowed for the upstream's response head: a model may think for minutes first.</summary>
    public TimeSpan UpstreamResponseTimeout { get; init; }

    /// <summary>Longest silence from the upstream in the middle of a response body.</summary>
    public TimeSpan UpstreamIdleTimeout { get; init; }

    /// <summary>How long an unused upstream connection stays in the pool.</summary>
    public TimeSpan UpstreamPoolIdleTimeout { get; init; }
    public int UpstreamPrewarm { get; init; }
    public bool ForwardClientIp { get; init; }
    public TimeSpan ShutdownTimeout { get; init; }
    public bool AccessLog { get; init; }
    public LogLevel LogLevel { get; init; }

    /// <summary>The SQLite file of usage rollups (<c>off</c>: none), read by the <c>usage</c> subcommand.</summary>
    public string UsageDb { get; init; } = "";

    /// <summary>How long hourly usage rows are kept.</summary>
    public TimeSpan UsageRetention { get; init; }

    /// <summary>Where the admin listener (metrics, health, usage, dashboard) listens; null when off.</summary>
    public IPEndPoint? AdminListen { get; init; }

    /// <summary>The bearer token the admin listener asks for (see README.md#usage-and-metrics); never logged.</summary>
    public string? AdminToken { get; init; }

    /// <summary>Off loopback, <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c> stay open without the admin token.</summary>
    public bool AdminMetricsOpen { get; init; }

    /// <summary>Whether the listen address is reachable from other machines.</summary>
    public bool ListensBeyondLoopback => !IPAddress.IsLoopback(Listen.Address);

    /// <summary>
    /// Reads the options from <paramref name="variables"/>, one <see cref="Settings.All"/> entry after another. Throws
    /// <see cref="ProxyConfigurationException"/> naming the first variable that is missing or malformed; the message
    /// never contains a secret. Settings that are each valid but wrong together are refused too
    /// (<see cref="CheckAdminListener"/>).
    /// </summary>
    public static ProxyOptions FromEnvironment(IReadOnlyDictionary<string, string?> variables)
    {
        var options = new ProxyOptions();
        foreach (var setting in Settings.All)
        {
            options = setting.Apply(options, variables);
        }

        CheckAdminListener(options);
        return options;
    }

    /// <summary>
    /// The admin listener shows every client's usage and the keys' state: beyond loopback only behind
    /// <c>PROXY_ADMIN_TOKEN</c>. And it is never the API port: the second of the two binds would fail, and say less
    /// clearly why than this check does. Port 0 asks for a free port each, so never clashes.
    /// </summary>
    private static void CheckAdminListener(ProxyOptions options)
    {
        if (options.AdminListen is not { } admin)
        {
            return;
        }

        if (!IPAddress.IsLoopback(admin.Address) && options.AdminToken is null)
        {
            throw new ProxyConfigurationException("PROXY_ADMIN_LISTEN",
                $"{admin} is not on loopback, so PROXY_ADMIN_TOKEN must be set: whoever reaches it would read every client's usage " +
                "(set PROXY_ADMIN_TOKEN, or PROXY_ADMIN_LISTEN=127.0.0.1:11435, or off)");
        }

        var api = options.Listen;
        var sameAddress = admin.Address.Equals(api.Address) || IsWildcard(admin.Address) || IsWildcard(api.Address);
        if (admin.Port != 0 && admin.Port == api.Port && sameAddress)
        {
            throw new ProxyConfigurationException("PROXY_ADMIN_LISTEN",
                $"{admin} is the API port (PROXY_LISTEN {api}): the admin listener needs a port of its own, never the API port");
        }

        static bool IsWildcard(IPAddress address) => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);
    }

    /// <summary>The <c>PROXY_…</c> names in <paramref name="variables"/> that no setting has (most likely typos).</summary>
    public static IEnumerable<string> UnknownProxyVariables(IEnumerable<string> variables) =>
        variables.Where(name => name.StartsWith("PROXY_", StringComparison.Ordinal) && !Settings.Names.Contains(name))
                 .Order(StringComparer.Ordinal);

    // The synthesized record ToString would print ApiKey and AuthToken.
    public override string ToString() => nameof(ProxyOptions);
}
