using System.Net;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener;
using static OllamaSocketProxy.Tests.Listener.Configuration.OptionsFromEnvironment;

namespace OllamaSocketProxy.Tests.Listener.Configuration;

/// <summary><see cref="ProxyOptions.FromEnvironment"/> as a whole: defaults, unset and blank values, unknown names.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ProxyOptionsTests
{
    [Test]
    public void OnlyTheKey_EveryOptionHasItsDocumentedDefault()
    {
        var options = Read();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.ApiKeys.Select(key => key.Position), Is.EqualTo(new[] { 1 }));
            Assert.That(options.ApiKeys[0].AuthorizationLine.ToArray(), Is.EqualTo(OllamaSocketProxy.Http1.RequestRewriter.AuthorizationLine(Key)));
            Assert.That(options.AuthToken, Is.Null);
            Assert.That(options.Listen, Is.EqualTo(new IPEndPoint(IPAddress.Loopback, 11434)));
            Assert.That(options.UpstreamUrl, Is.EqualTo(new Uri("https://ollama.com")));
            Assert.That(options.UpstreamCaCertificates, Is.Null);
            Assert.That(options.Limits, Is.EqualTo(RequestLimits.Default));
            Assert.That(options.MaxRequestBodySize, Is.EqualTo(32 * 1024 * 1024));
            Assert.That(options.MinRequestBodyRate, Is.EqualTo(240));
            Assert.That(options.MinRequestBodyRateGrace, Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(options.MaxConnections, Is.EqualTo(4096));
            Assert.That(options.RequestHeadTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(options.KeepAliveTimeout, Is.EqualTo(TimeSpan.FromSeconds(130)));
            Assert.That(options.UpstreamConnectTimeout, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(options.UpstreamResponseTimeout, Is.EqualTo(TimeSpan.FromMinutes(10)));
            Assert.That(options.UpstreamIdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(5)));
            Assert.That(options.UpstreamPoolIdleTimeout, Is.EqualTo(TimeSpan.FromSeconds(50)));
            Assert.That(options.UpstreamPrewarm, Is.Zero);
            Assert.That(options.ForwardClientIp, Is.False);
            Assert.That(options.ShutdownTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(options.AccessLog, Is.True);
            Assert.That(options.LogLevel, Is.EqualTo(LogLevel.Information));
        }
    }

    [Test]
    public void OnlyTheKey_NoNonNullableOptionIsLeftNull()
    {
        var options = Read();
        var nullability = new NullabilityInfoContext();

        var unset = typeof(ProxyOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(property => !property.PropertyType.IsValueType
                               && nullability.Create(property).ReadState == NullabilityState.NotNull
                               && property.GetValue(options) is null)
            .Select(property => property.Name);
        Assert.That(unset, Is.Empty, "a property without a setting in Settings.All");
    }

    [Test]
    public void EverySettingWithADefault_ReadsItsDefaultTextAsTheDefault()
    {
        var defaults = Read();

        foreach (var setting in Settings.All.Where(setting => setting.Default.Text is not null))
        {
            var explicitDefault = Read((setting.Name, setting.Default.Text));
            Assert.That(ChangedOptions(defaults, explicitDefault), Is.Empty, setting.Name);
        }
    }

    [Test]
    public void EverySetting_ChangesItsOwnOption()
    {
        // A value other than the default, valid for its kind; PROXY_PUBLISH is docker-compose's and changes nothing.
        var defaults = Read();
        var changed = Settings.All
            .Where(setting => setting.IsReadByProxy && setting.Name != "OLLAMA_API_KEY")
            .ToDictionary(setting => setting.Name, setting => string.Join(", ", ChangedOptions(defaults, Read((setting.Name, OtherValue(setting.Name))))));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(changed.Where(pair => pair.Value.Length == 0 || pair.Value.Contains(',', StringComparison.Ordinal)), Is.Empty, "settings that change no option or several");
            Assert.That(changed.Values, Is.Unique, "settings that change the same option");
        }
    }

    [TestCase("")]
    [TestCase("   ")]
    [TestCase("\t")]
    public void BlankValue_MeansTheDefault(string blank)
    {
        var options = Read(("PROXY_KEEPALIVE_TIMEOUT", blank), ("PROXY_AUTH_TOKEN", blank));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.KeepAliveTimeout, Is.EqualTo(TimeSpan.FromSeconds(130)));
            Assert.That(options.AuthToken, Is.Null);
        }
    }

    [Test]
    public void NullValue_MeansTheDefault()
    {
        Assert.That(Read(("PROXY_LISTEN", null)).Listen, Is.EqualTo(new IPEndPoint(IPAddress.Loopback, 11434)));
    }

    [Test]
    public void SurroundingWhitespace_IsTrimmed()
    {
        var options = Read(("PROXY_KEEPALIVE_TIMEOUT", " 20\t"), ("PROXY_AUTH_TOKEN", "  token-1 "));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.KeepAliveTimeout, Is.EqualTo(TimeSpan.FromSeconds(20)));
            Assert.That(options.AuthToken, Is.EqualTo("token-1"));
        }
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("  ")]
    public void MissingKey_ThrowsNamingIt(string? key)
    {
        var variables = new Dictionary<string, string?> { ["PROXY_LISTEN"] = "127.0.0.1:0" };
        if (key is not null)
        {
            variables["OLLAMA_API_KEY"] = key;
        }

        var error = Assert.Throws<ProxyConfigurationException>(() => ProxyOptions.FromEnvironment(variables));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Variable, Is.EqualTo("OLLAMA_API_KEY"));
            Assert.That(error.Message, Is.EqualTo("OLLAMA_API_KEY is required but not set"));
        }
    }

    [Test]
    public void TwoMalformedVariables_TheFirstInTheTableIsReported()
    {
        var error = Assert.Throws<ProxyConfigurationException>(
            () => Read(("PROXY_LOG_LEVEL", "loud"), ("PROXY_LISTEN", "nowhere")));

        Assert.That(error.Variable, Is.EqualTo("PROXY_LISTEN"));
    }

    [Test]
    public void UnknownProxyVariables_NamesOnlyUnknownProxyNamesInOrder()
    {
        string[] names = ["PROXY_LISTEN", "PROXY_ZZZ", "PROXY_AUTH_TOKN", "PROXY_PUBLISH", "OLLAMA_API_KEY", "OLLAMA_HOST", "PATH", "proxy_listen"];

        Assert.That(ProxyOptions.UnknownProxyVariables(names), Is.EqualTo(new[] { "PROXY_AUTH_TOKN", "PROXY_ZZZ" }));
    }

    [Test]
    public void UnknownProxyVariables_EverySettingIsKnown()
    {
        Assert.That(ProxyOptions.UnknownProxyVariables(Settings.All.Select(setting => setting.Name)), Is.Empty);
    }

    [Test]
    public void SettingNames_AreUnique()
    {
        Assert.That(Settings.All.Select(setting => setting.Name), Is.Unique);
    }

    [Test]
    public void ToString_HoldsNoSecret()
    {
        var options = Read(("PROXY_AUTH_TOKEN", "client-token-77c1"));

        Assert.That(options.ToString(), Does.Not.Contain(Key).And.Not.Contain("client-token-77c1"));
    }

    // The settable properties whose values differ, RequestLimits' by field ("Limits.MaxHeadSize"); certificates by thumbprint.
    private static IEnumerable<string> ChangedOptions(object a, object b, string prefix = "")
    {
        foreach (var property in a.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(property => property.SetMethod is not null))
        {
            var (x, y) = (property.GetValue(a), property.GetValue(b));
            if (x is RequestLimits && y is RequestLimits)
            {
                foreach (var field in ChangedOptions(x, y, property.Name + "."))
                {
                    yield return field;
                }
            }
            else if (!Equals(x, y) && !SameCertificates(x, y) && !SameText(x, y))
            {
                yield return prefix + property.Name;
            }
        }
    }

    private static bool SameCertificates(object? a, object? b) =>
        a is X509Certificate2Collection x && b is X509Certificate2Collection y
        && x.Select(c => c.Thumbprint).SequenceEqual(y.Select(c => c.Thumbprint));

    /// <summary>Keys, address ranges and origins are compared by what they say (their ToString never shows a key).</summary>
    private static bool SameText(object? a, object? b) => (a, b) switch
    {
        (IReadOnlyList<OllamaSocketProxy.Listener.Gateway.UpstreamKey> x, IReadOnlyList<OllamaSocketProxy.Listener.Gateway.UpstreamKey> y) =>
            x.Select(key => Convert.ToHexString(key.AuthorizationLine)).SequenceEqual(y.Select(key => Convert.ToHexString(key.AuthorizationLine))),
        (OllamaSocketProxy.Listener.Gateway.PeerAllowList x, OllamaSocketProxy.Listener.Gateway.PeerAllowList y) => x.ToString() == y.ToString(),
        (OllamaSocketProxy.Listener.Gateway.CorsPolicy x, OllamaSocketProxy.Listener.Gateway.CorsPolicy y) => x.ToString() == y.ToString(),
        _ => false,
    };

    private static string OtherValue(string name) => name switch
    {
        "PROXY_AUTH_TOKEN" => "token",
        "PROXY_CLIENTS_FILE" => "/etc/ollama-socket-proxy/clients.json",
        "PROXY_ALLOW_CIDRS" => "192.168.1.0/24",
        "PROXY_ORIGINS" => "https://chat.example.org",
        "PROXY_LISTEN" => "0.0.0.0:8080",
        "OLLAMA_UPSTREAM_URL" => "http://192.168.1.10:11434",
        "OLLAMA_UPSTREAM_CA_FILE" => Infrastructure.TestCertificates.Shared.AuthorityPemPath,
        "PROXY_FORWARD_CLIENT_IP" => "true",
        "PROXY_ACCESS_LOG" => "false",
        "PROXY_LOG_LEVEL" => "Warning",
        "PROXY_USAGE_DB" => "/var/lib/ollama-socket-proxy/usage.db",
        "PROXY_ADMIN_LISTEN" => "off",
        "PROXY_ADMIN_TOKEN" => "admin-token",
        "PROXY_ADMIN_METRICS_OPEN" => "true",
        _ => "301", // a whole number of seconds or units no default has, within every range
    };
}
