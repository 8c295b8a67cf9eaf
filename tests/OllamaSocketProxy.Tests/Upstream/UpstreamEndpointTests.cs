using OllamaSocketProxy.Upstream;

namespace OllamaSocketProxy.Tests.Upstream;

/// <summary>
/// <see cref="UpstreamEndpoint"/>: the one origin from <c>OLLAMA_UPSTREAM_URL</c>, and the Host value the proxy sends
/// for it, the port only when it is not the scheme's default (RFC 9110 §7.2).
/// </summary>
public sealed class UpstreamEndpointTests
{
    [TestCase("https://ollama.com", "ollama.com", 443, true, "ollama.com")]
    [TestCase("https://ollama.com:443", "ollama.com", 443, true, "ollama.com")]
    [TestCase("https://localhost:8443", "localhost", 8443, true, "localhost:8443")]
    [TestCase("http://127.0.0.1:11434", "127.0.0.1", 11434, false, "127.0.0.1:11434")]
    [TestCase("http://ollama.lan", "ollama.lan", 80, false, "ollama.lan")]
    [TestCase("https://example.com:80", "example.com", 80, true, "example.com:80")]
    [TestCase("http://example.com:443", "example.com", 443, false, "example.com:443")]
    [TestCase("https://bücher.example", "xn--bcher-kva.example", 443, true, "xn--bcher-kva.example")]
    public void Origin_GivesHostPortSchemeAndAuthority(string origin, string host, int port, bool tls, string authority)
    {
        var endpoint = UpstreamEndpoint.FromUri(new Uri(origin));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(endpoint.Host, Is.EqualTo(host));
            Assert.That(endpoint.Port, Is.EqualTo(port));
            Assert.That(endpoint.UseTls, Is.EqualTo(tls));
            Assert.That(endpoint.Authority, Is.EqualTo(authority));
        }
    }

    /// <summary>An IPv6 literal goes in brackets in Host (RFC 3986 §3.2.2).</summary>
    [TestCase("http://[::1]:11434", "[::1]:11434")]
    [TestCase("https://[2001:db8::1]", "[2001:db8::1]")]
    public void IPv6Origin_AuthorityHasTheAddressInBrackets(string origin, string authority)
    {
        Assert.That(UpstreamEndpoint.FromUri(new Uri(origin)).Authority, Is.EqualTo(authority));
    }
}
