namespace OllamaSocketProxy.Upstream;

/// <summary>The one origin the proxy ever connects to (nothing a client sends can change it: docs/BEHAVIOUR.md#routing).</summary>
public sealed record UpstreamEndpoint(string Host, int Port, bool UseTls)
{
    public static UpstreamEndpoint FromUri(Uri origin) =>
        new(origin.IdnHost, origin.Port, origin.Scheme == Uri.UriSchemeHttps);

    /// <summary>The Host field value: the port only when it is not the scheme's default (RFC 9110 §7.2).</summary>
    public string Authority
    {
        get
        {
            var host = Host.Contains(':') ? $"[{Host}]" : Host;
            return Port == (UseTls ? 443 : 80) ? host : $"{host}:{Port}";
        }
    }
}
