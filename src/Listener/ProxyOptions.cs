using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// Everything the proxy is configured with, read once at start from environment variables
/// (docs/BEHAVIOUR.md#configuration). Each variable is read by exactly one line of <see cref="FromEnvironment"/>.
/// </summary>
public sealed class ProxyOptions
{
    /// <summary>The key sent upstream as <c>Authorization: Bearer &lt;key&gt;</c>. Never logged.</summary>
    public required string ApiKey { get; init; }

    /// <summary>The token every client must present; <c>null</c> leaves the proxy open.</summary>
    public string? AuthToken { get; init; }

    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 11434);
    public Uri UpstreamUrl { get; init; } = new("https://ollama.com");
    public X509Certificate2Collection? UpstreamCaCertificates { get; init; }

    public RequestLimits Limits { get; init; } = RequestLimits.Default;
    public TimeSpan RequestHeadTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(130);
    public int MaxConnections { get; init; } = 4096;
    public long MaxRequestBodySize { get; init; } = 32 * 1024 * 1024;

    /// <summary>Slowest request body the proxy accepts, in bytes a second, after a grace period (Kestrel: 240 B/s after 5 s).</summary>
    public double MinRequestBodyRate { get; init; } = 240;
    public TimeSpan MinRequestBodyRateGrace { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan UpstreamConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed for the upstream's response head: a model may think for minutes first.</summary>
    public TimeSpan UpstreamResponseTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Longest silence from the upstream in the middle of a response body.</summary>
    public TimeSpan UpstreamIdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an unused upstream connection stays in the pool.</summary>
    public TimeSpan UpstreamPoolIdleTimeout { get; init; } = TimeSpan.FromSeconds(50);
    public int UpstreamPrewarm { get; init; }
    public bool ForwardClientIp { get; init; }
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public bool AccessLog { get; init; } = true;
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>The <c>PROXY_…</c> variables this version knows; any other is named in a warning.</summary>
    public static readonly IReadOnlyList<string> KnownProxyVariables =
    [
        "PROXY_AUTH_TOKEN", "PROXY_LISTEN", "PROXY_MAX_REQUEST_LINE_SIZE", "PROXY_MAX_REQUEST_HEAD_SIZE",
        "PROXY_MAX_REQUEST_HEADERS", "PROXY_MAX_REQUEST_BODY_SIZE", "PROXY_REQUEST_HEAD_TIMEOUT",
        "PROXY_KEEPALIVE_TIMEOUT", "PROXY_MAX_CONNECTIONS", "PROXY_MIN_REQUEST_BODY_RATE",
        "PROXY_MIN_REQUEST_BODY_RATE_GRACE", "PROXY_UPSTREAM_CONNECT_TIMEOUT", "PROXY_UPSTREAM_RESPONSE_TIMEOUT",
        "PROXY_UPSTREAM_IDLE_TIMEOUT", "PROXY_UPSTREAM_POOL_IDLE_TIMEOUT", "PROXY_UPSTREAM_PREWARM",
        "PROXY_FORWARD_CLIENT_IP", "PROXY_SHUTDOWN_TIMEOUT", "PROXY_ACCESS_LOG", "PROXY_LOG_LEVEL",

        // Read by docker-compose.yml (the published address), not by the proxy; it comes along in .env.
        "PROXY_PUBLISH",
    ];

    /// <summary>
    /// Reads the options from <paramref name="variables"/>. Throws <see cref="ProxyConfigurationException"/>
    /// naming the first variable that is missing or malformed; the message never contains a secret.
    /// </summary>
    public static ProxyOptions FromEnvironment(IReadOnlyDictionary<string, string?> variables)
    {
        var reader = new VariableReader(variables);
        var defaults = new ProxyOptions { ApiKey = "" };
        var limits = RequestLimits.Default;

        return new ProxyOptions
        {
            ApiKey = reader.Secret("OLLAMA_API_KEY", required: true)!,
            AuthToken = reader.Secret("PROXY_AUTH_TOKEN", required: false),
            Listen = reader.EndPoint("PROXY_LISTEN", defaults.Listen),
            UpstreamUrl = reader.Origin("OLLAMA_UPSTREAM_URL", defaults.UpstreamUrl),
            UpstreamCaCertificates = reader.PemFile("OLLAMA_UPSTREAM_CA_FILE"),
            Limits = new RequestLimits
            {
                MaxRequestLineSize = reader.Integer("PROXY_MAX_REQUEST_LINE_SIZE", limits.MaxRequestLineSize, 64, 1 << 20),
                MaxHeadSize = reader.Integer("PROXY_MAX_REQUEST_HEAD_SIZE", limits.MaxHeadSize, 256, 1 << 20),
                MaxHeaderCount = reader.Integer("PROXY_MAX_REQUEST_HEADERS", limits.MaxHeaderCount, 1, 10_000),
            },
            MaxRequestBodySize = reader.Integer("PROXY_MAX_REQUEST_BODY_SIZE", defaults.MaxRequestBodySize, 0, long.MaxValue),
            RequestHeadTimeout = reader.Seconds("PROXY_REQUEST_HEAD_TIMEOUT", defaults.RequestHeadTimeout),
            KeepAliveTimeout = reader.Seconds("PROXY_KEEPALIVE_TIMEOUT", defaults.KeepAliveTimeout),
            MaxConnections = (int)reader.Integer("PROXY_MAX_CONNECTIONS", defaults.MaxConnections, 1, 1_000_000),
            MinRequestBodyRate = reader.Integer("PROXY_MIN_REQUEST_BODY_RATE", (long)defaults.MinRequestBodyRate, 0, int.MaxValue),
            MinRequestBodyRateGrace = reader.Seconds("PROXY_MIN_REQUEST_BODY_RATE_GRACE", defaults.MinRequestBodyRateGrace),
            UpstreamConnectTimeout = reader.Seconds("PROXY_UPSTREAM_CONNECT_TIMEOUT", defaults.UpstreamConnectTimeout),
            UpstreamResponseTimeout = reader.Seconds("PROXY_UPSTREAM_RESPONSE_TIMEOUT", defaults.UpstreamResponseTimeout),
            UpstreamIdleTimeout = reader.Seconds("PROXY_UPSTREAM_IDLE_TIMEOUT", defaults.UpstreamIdleTimeout),
            UpstreamPoolIdleTimeout = reader.Seconds("PROXY_UPSTREAM_POOL_IDLE_TIMEOUT", defaults.UpstreamPoolIdleTimeout),
            UpstreamPrewarm = (int)reader.Integer("PROXY_UPSTREAM_PREWARM", defaults.UpstreamPrewarm, 0, 1024),
            ForwardClientIp = reader.Boolean("PROXY_FORWARD_CLIENT_IP", defaults.ForwardClientIp),
            ShutdownTimeout = reader.Seconds("PROXY_SHUTDOWN_TIMEOUT", defaults.ShutdownTimeout),
            AccessLog = reader.Boolean("PROXY_ACCESS_LOG", defaults.AccessLog),
            LogLevel = reader.Level("PROXY_LOG_LEVEL", defaults.LogLevel),
        };
    }

    /// <summary>The <c>PROXY_…</c> names in <paramref name="variables"/> that no option reads (most likely typos).</summary>
    public static IEnumerable<string> UnknownProxyVariables(IEnumerable<string> variables) =>
        variables.Where(name => name.StartsWith("PROXY_", StringComparison.Ordinal) && !KnownProxyVariables.Contains(name))
                 .Order(StringComparer.Ordinal);

    /// <summary>Whether the listen address is reachable from other machines.</summary>
    public bool ListensBeyondLoopback => !IPAddress.IsLoopback(Listen.Address);

    private readonly struct VariableReader(IReadOnlyDictionary<string, string?> variables)
    {
        private string? Raw(string name) =>
            variables.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

        private static ProxyConfigurationException Invalid(string name, string why) => new(name, why);

        public string? Secret(string name, bool required)
        {
            var value = Raw(name);
            if (value is null)
            {
                return required ? throw Invalid(name, "is required but not set") : null;
            }

            // The value goes into a header line: only visible ASCII, or it could split the head (RFC 9110 §5.5).
            foreach (var c in value)
            {
                if (c is < '!' or > '~')
                {
                    throw Invalid(name, "may contain only visible ASCII characters (no spaces or control characters)");
                }
            }

            return value;
        }

        public IPEndPoint EndPoint(string name, IPEndPoint fallback)
        {
            var value = Raw(name);
            if (value is null)
            {
                return fallback;
            }

            var text = value.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)
                ? "127.0.0.1" + value["localhost".Length..]
                : value;
            var colon = text.LastIndexOf(':');
            var portText = colon < 0 ? "" : text[(colon + 1)..];
            if (!int.TryParse(portText, System.Globalization.NumberStyles.None, null, out var port) || port > 65535
                || !IPEndPoint.TryParse(text, out var endPoint))
            {
                throw Invalid(name, $"'{value}' is not an address:port such as 127.0.0.1:11434 or [::]:11434");
            }

            return endPoint;
        }

        public Uri Origin(string name, Uri fallback)
        {
            var value = Raw(name);
            if (value is null)
            {
                return fallback;
            }

            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
                || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0
                || uri.AbsolutePath != "/")
            {
                throw Invalid(name, $"'{value}' is not an origin such as https://ollama.com or http://192.168.1.10:11434 (scheme, host and optional port only)");
            }

            return uri;
        }

        public X509Certificate2Collection? PemFile(string name)
        {
            var path = Raw(name);
            if (path is null)
            {
                return null;
            }

            var certificates = new X509Certificate2Collection();
            try
            {
                certificates.ImportFromPemFile(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw Invalid(name, $"'{path}' could not be read as PEM certificates: {e.Message}");
            }

            return certificates.Count > 0 ? certificates : throw Invalid(name, $"'{path}' holds no PEM certificate");
        }

        public long Integer(string name, long fallback, long min, long max)
        {
            var value = Raw(name);
            if (value is null)
            {
                return fallback;
            }

            if (!long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
                || number < min || number > max)
            {
                throw Invalid(name, $"'{value}' is not a whole number from {min} to {max}");
            }

            return number;
        }

        public TimeSpan Seconds(string name, TimeSpan fallback)
        {
            var value = Raw(name);
            if (value is null)
            {
                return fallback;
            }

            if (!double.TryParse(value, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                || seconds <= 0 || seconds > 86_400 * 7)
            {
                throw Invalid(name, $"'{value}' is not a number of seconds greater than 0 (for example 30 or 0.5)");
            }

            return TimeSpan.FromSeconds(seconds);
        }

        public bool Boolean(string name, bool fallback)
        {
            var value = Raw(name);
            return value?.ToLowerInvariant() switch
            {
                null => fallback,
                "1" or "true" or "yes" or "on" => true,
                "0" or "false" or "no" or "off" => false,
                _ => throw Invalid(name, $"'{value}' is not true or false"),
            };
        }

        public LogLevel Level(string name, LogLevel fallback)
        {
            var value = Raw(name);
            if (value is null)
            {
                return fallback;
            }

            return Enum.TryParse<LogLevel>(value, ignoreCase: true, out var level) && Enum.IsDefined(level)
                ? level
                : throw Invalid(name, $"'{value}' is not one of Trace, Debug, Information, Warning, Error, Critical, None");
        }
    }
}

/// <summary>A configuration variable that is missing or malformed. The message names the variable, never a secret.</summary>
public sealed class ProxyConfigurationException(string variable, string why)
    : Exception($"{variable} {why}")
{
    public string Variable { get; } = variable;
}
