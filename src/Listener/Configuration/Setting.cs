using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// One configuration variable: its name, its default, how its text is checked and where its value goes in
/// <see cref="ProxyOptions"/>. Each factory below is one kind of value; <see cref="Settings.All"/> lists them all.
/// </summary>
internal sealed class Setting
{
    private readonly Func<ProxyOptions, string, ProxyOptions>? _apply;

    private Setting(string name, SettingDefault @default, Func<ProxyOptions, string, ProxyOptions>? apply)
    {
        Name = name;
        Default = @default;
        _apply = apply;
    }

    public string Name { get; }

    public SettingDefault Default { get; }

    /// <summary>False for a variable only docker-compose.yml reads: known, so never warned about, but not parsed here.</summary>
    public bool IsReadByProxy => _apply is not null;

    /// <summary>
    /// <paramref name="options"/> with this setting's value from <paramref name="variables"/>, or else its default.
    /// A blank value counts as unset, so <c>NAME=</c> in <c>.env</c> means the default.
    /// </summary>
    public ProxyOptions Apply(ProxyOptions options, IReadOnlyDictionary<string, string?> variables)
    {
        if (_apply is null)
        {
            return options;
        }

        var text = variables.TryGetValue(Name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : Default.Text;
        if (text is null)
        {
            return Default.IsRequired ? throw new ProxyConfigurationException(Name, "is required but not set") : options;
        }

        return _apply(options, text);
    }

    /// <summary>A key or token: visible ASCII only; never quoted in an error.</summary>
    public static Setting Secret(string name, SettingDefault @default, Func<ProxyOptions, string, ProxyOptions> apply) =>
        Of(name, @default, SettingParsers.Secret, apply);

    /// <summary>One upstream key, or several separated by commas (whitespace around each trimmed); never quoted in an error.</summary>
    public static Setting KeyList(string name, SettingDefault @default, Func<ProxyOptions, IReadOnlyList<Gateway.UpstreamKey>, ProxyOptions> apply) =>
        Of(name, @default, static (_, text) => Gateway.UpstreamKey.ParseList(text), apply);

    /// <summary>The path of a file read at start (and again on reload); its content is checked by whoever reads it.</summary>
    public static Setting FilePath(string name, SettingDefault @default, Func<ProxyOptions, string, ProxyOptions> apply) =>
        Of(name, @default, static (_, text) => text, apply);

    /// <summary>Addresses and CIDR ranges separated by commas (<c>127.0.0.0/8,192.168.1.0/24,::1/128</c>).</summary>
    public static Setting Cidrs(string name, SettingDefault @default, Func<ProxyOptions, Gateway.PeerAllowList, ProxyOptions> apply) =>
        Of(name, @default, static (n, text) => SettingParsers.Formatted(n, text, Gateway.PeerAllowList.Parse), apply);

    /// <summary>CORS origins in Ollama's <c>OLLAMA_ORIGINS</c> syntax, added to its defaults.</summary>
    public static Setting CorsOrigins(string name, SettingDefault @default, Func<ProxyOptions, Gateway.CorsPolicy, ProxyOptions> apply) =>
        Of(name, @default, static (n, text) => SettingParsers.Formatted(n, text, Gateway.CorsPolicy.Parse), apply);

    /// <summary><c>address:port</c>, IPv6 in brackets, <c>localhost:port</c>.</summary>
    public static Setting EndPoint(string name, SettingDefault @default, Func<ProxyOptions, IPEndPoint, ProxyOptions> apply) =>
        Of(name, @default, SettingParsers.EndPoint, apply);

    /// <summary>Like <see cref="EndPoint"/>, or <c>off</c> (any case) for none: null.</summary>
    public static Setting EndPointOrOff(string name, SettingDefault @default, Func<ProxyOptions, IPEndPoint?, ProxyOptions> apply) =>
        Of(name, @default, static (n, text) => text.Equals("off", StringComparison.OrdinalIgnoreCase) ? null : SettingParsers.EndPoint(n, text), apply);

    /// <summary><c>http(s)://host[:port]</c>, nothing after it.</summary>
    public static Setting Origin(string name, SettingDefault @default, Func<ProxyOptions, Uri, ProxyOptions> apply) =>
        Of(name, @default, SettingParsers.Origin, apply);

    /// <summary>The path of a PEM file holding at least one certificate, read at start.</summary>
    public static Setting PemFile(string name, SettingDefault @default, Func<ProxyOptions, X509Certificate2Collection, ProxyOptions> apply) =>
        Of(name, @default, SettingParsers.PemFile, apply);

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>, digits only.</summary>
    public static Setting Integer(string name, SettingDefault @default, long min, long max, Func<ProxyOptions, long, ProxyOptions> apply) =>
        Of(name, @default, (n, text) => SettingParsers.Integer(n, text, min, max), apply);

    /// <summary>Seconds greater than 0, a fraction allowed (<c>0.5</c>), at most a week.</summary>
    public static Setting Seconds(string name, SettingDefault @default, Func<ProxyOptions, TimeSpan, ProxyOptions> apply) =>
        Of(name, @default, SettingParsers.Seconds, apply);

    /// <summary><c>true</c>/<c>false</c>, also <c>1</c>/<c>0</c>, <c>yes</c>/<c>no</c>, <c>on</c>/<c>off</c>.</summary>
    public static Setting Boolean(string name, SettingDefault @default, Func<ProxyOptions, bool, ProxyOptions> apply) =>
        Of(name, @default, SettingParsers.Boolean, apply);

    /// <summary>A <see cref="Microsoft.Extensions.Logging.LogLevel"/> name, any case.</summary>
    public static Setting LogLevel(string name, SettingDefault @default, Func<ProxyOptions, LogLevel, ProxyOptions> apply) =>
        Of(name, @default, SettingParsers.Level, apply);

    /// <summary>A variable the proxy does not read but that belongs in its <c>.env</c> (docker-compose.yml reads it).</summary>
    public static Setting ReadByCompose(string name, SettingDefault @default) => new(name, @default, apply: null);

    private static Setting Of<T>(
        string name, SettingDefault @default, Func<string, string, T> parse, Func<ProxyOptions, T, ProxyOptions> apply) =>
        new(name, @default, (options, text) => apply(options, parse(name, text)));
}
