using System.Collections.Frozen;
using static OllamaSocketProxy.Listener.SettingDefault;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// Every configuration variable, once: name, default, kind of value, and where it goes in <see cref="ProxyOptions"/>.
/// <see cref="ProxyOptions.FromEnvironment"/> and <see cref="ProxyOptions.UnknownProxyVariables"/> read this list;
/// README.md's configuration table and .env.example list the same names and defaults (a test compares them).
/// Variables are applied in this order, so the first malformed one is the one reported.
/// </summary>
internal static class Settings
{
    public static readonly Setting[] All =
    [
        // Who may use the proxy, and the keys it uses upstream.
        Setting.KeyList("OLLAMA_API_KEY", Required, static (o, v) => o with { ApiKeys = v }),
        Setting.Secret("PROXY_AUTH_TOKEN", Unset, static (o, v) => o with { AuthToken = v }),
        Setting.FilePath("PROXY_CLIENTS_FILE", Unset, static (o, v) => o with { ClientsFile = v }),
        Setting.Cidrs("PROXY_ALLOW_CIDRS", Unset, static (o, v) => o with { AllowCidrs = v }),
        Setting.CorsOrigins("PROXY_ORIGINS", Unset, static (o, v) => o with { Origins = v }),

        // Where it listens and where it forwards.
        Setting.EndPoint("PROXY_LISTEN", "127.0.0.1:11434", static (o, v) => o with { Listen = v }),
        Setting.Origin("OLLAMA_UPSTREAM_URL", "https://ollama.com", static (o, v) => o with { UpstreamUrl = v }),
        Setting.PemFile("OLLAMA_UPSTREAM_CA_FILE", Unset, static (o, v) => o with { UpstreamCaCertificates = v }),

        // Request limits (Kestrel's defaults).
        Setting.Integer("PROXY_MAX_REQUEST_LINE_SIZE", "8192", 64, 1 << 20,
            static (o, v) => o with { Limits = o.Limits with { MaxRequestLineSize = v } }),
        Setting.Integer("PROXY_MAX_REQUEST_HEAD_SIZE", "32768", 256, 1 << 20,
            static (o, v) => o with { Limits = o.Limits with { MaxHeadSize = v } }),
        Setting.Integer("PROXY_MAX_REQUEST_HEADERS", "100", 1, 10_000,
            static (o, v) => o with { Limits = o.Limits with { MaxHeaderCount = v } }),
        Setting.Integer("PROXY_MAX_REQUEST_BODY_SIZE", "33554432", 0, long.MaxValue, static (o, v) => o with { MaxRequestBodySize = v }),
        Setting.Integer("PROXY_MIN_REQUEST_BODY_RATE", "240", 0, int.MaxValue, static (o, v) => o with { MinRequestBodyRate = v }),
        Setting.Seconds("PROXY_MIN_REQUEST_BODY_RATE_GRACE", "5", static (o, v) => o with { MinRequestBodyRateGrace = v }),
        Setting.Integer("PROXY_MAX_CONNECTIONS", "4096", 1, 1_000_000, static (o, v) => o with { MaxConnections = (int)v }),

        // Client timeouts.
        Setting.Seconds("PROXY_REQUEST_HEAD_TIMEOUT", "30", static (o, v) => o with { RequestHeadTimeout = v }),
        Setting.Seconds("PROXY_KEEPALIVE_TIMEOUT", "130", static (o, v) => o with { KeepAliveTimeout = v }),

        // Upstream timeouts and pool.
        Setting.Seconds("PROXY_UPSTREAM_CONNECT_TIMEOUT", "10", static (o, v) => o with { UpstreamConnectTimeout = v }),
        Setting.Seconds("PROXY_UPSTREAM_RESPONSE_TIMEOUT", "600", static (o, v) => o with { UpstreamResponseTimeout = v }),
        Setting.Seconds("PROXY_UPSTREAM_IDLE_TIMEOUT", "300", static (o, v) => o with { UpstreamIdleTimeout = v }),
        Setting.Seconds("PROXY_UPSTREAM_POOL_IDLE_TIMEOUT", "50", static (o, v) => o with { UpstreamPoolIdleTimeout = v }),
        Setting.Integer("PROXY_UPSTREAM_PREWARM", "0", 0, 1024, static (o, v) => o with { UpstreamPrewarm = (int)v }),

        // Misc.
        Setting.Boolean("PROXY_FORWARD_CLIENT_IP", "false", static (o, v) => o with { ForwardClientIp = v }),
        Setting.Seconds("PROXY_SHUTDOWN_TIMEOUT", "30", static (o, v) => o with { ShutdownTimeout = v }),
        Setting.Boolean("PROXY_ACCESS_LOG", "true", static (o, v) => o with { AccessLog = v }),
        Setting.LogLevel("PROXY_LOG_LEVEL", "Information", static (o, v) => o with { LogLevel = v }),
        Setting.FilePath("PROXY_USAGE_DB", "usage.db", static (o, v) => o with { UsageDb = v }),
        Setting.Integer("PROXY_USAGE_RETENTION_DAYS", "400", 1, 36_500, static (o, v) => o with { UsageRetention = TimeSpan.FromDays(v) }),

        // The admin listener: metrics, health, usage and the dashboard, on a port of its own.
        Setting.EndPointOrOff("PROXY_ADMIN_LISTEN", "127.0.0.1:11435", static (o, v) => o with { AdminListen = v }),
        Setting.Secret("PROXY_ADMIN_TOKEN", Unset, static (o, v) => o with { AdminToken = v }),
        Setting.Boolean("PROXY_ADMIN_METRICS_OPEN", "false", static (o, v) => o with { AdminMetricsOpen = v }),

        // The host address docker-compose.yml publishes the container's port on; it comes along in .env.
        Setting.ReadByCompose("PROXY_PUBLISH", "127.0.0.1:11434"),
        Setting.ReadByCompose("PROXY_ADMIN_PUBLISH", "127.0.0.1:11435"),
    ];

    /// <summary>The names in <see cref="All"/>.</summary>
    public static readonly FrozenSet<string> Names = All.Select(setting => setting.Name).ToFrozenSet(StringComparer.Ordinal);
}
