using System.Net;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Listener.Configuration.OptionsFromEnvironment;

namespace OllamaSocketProxy.Tests.Listener.Configuration;

/// <summary>Each kind of value in <see cref="Settings.All"/>, through one variable of that kind: what it accepts and how it says no.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class SettingKindTests
{
    [TestCase("64", 64)]
    [TestCase("1048576", 1 << 20)]
    [TestCase("0008192", 8192)]
    public void Integer_InRange_IsRead(string text, long expected)
    {
        Assert.That(Read(("PROXY_MAX_REQUEST_LINE_SIZE", text)).Limits.MaxRequestLineSize, Is.EqualTo(expected));
    }

    [TestCase("63")]
    [TestCase("1048577")]
    [TestCase("-100")]
    [TestCase("+100")]
    [TestCase("100.0")]
    [TestCase("1e3")]
    [TestCase("0x100")]
    [TestCase("8 192")]
    [TestCase("99999999999999999999999")]
    public void Integer_OutOfRangeOrNotDigits_IsRefusedWithTheRange(string text)
    {
        AssertRefused("PROXY_MAX_REQUEST_LINE_SIZE", text, $"PROXY_MAX_REQUEST_LINE_SIZE '{text}' is not a whole number from 64 to 1048576");
    }

    [TestCase("30", 30_000)]
    [TestCase("0.5", 500)]
    [TestCase(".25", 250)]
    [TestCase("604800", 604_800_000)]
    public void Seconds_GreaterThanZero_AreRead(string text, long expectedMilliseconds)
    {
        Assert.That(Read(("PROXY_KEEPALIVE_TIMEOUT", text)).KeepAliveTimeout, Is.EqualTo(TimeSpan.FromMilliseconds(expectedMilliseconds)));
    }

    [TestCase("0")]
    [TestCase("0.0")]
    [TestCase("-1")]
    [TestCase("604801")]
    [TestCase("1e3")]
    [TestCase("1,5")]
    [TestCase("30s")]
    [TestCase("soon")]
    public void Seconds_ZeroNegativeOverAWeekOrNotANumber_AreRefused(string text)
    {
        AssertRefused("PROXY_KEEPALIVE_TIMEOUT", text,
            $"PROXY_KEEPALIVE_TIMEOUT '{text}' is not a number of seconds greater than 0 (for example 30 or 0.5)");
    }

    [TestCase("true", true)]
    [TestCase("TRUE", true)]
    [TestCase("1", true)]
    [TestCase("yes", true)]
    [TestCase("On", true)]
    [TestCase("false", false)]
    [TestCase("0", false)]
    [TestCase("NO", false)]
    [TestCase("off", false)]
    public void Boolean_Words_AreRead(string text, bool expected)
    {
        // PROXY_ACCESS_LOG defaults to true and PROXY_FORWARD_CLIENT_IP to false: each value is read against both defaults.
        var options = Read(("PROXY_ACCESS_LOG", text), ("PROXY_FORWARD_CLIENT_IP", text));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.AccessLog, Is.EqualTo(expected));
            Assert.That(options.ForwardClientIp, Is.EqualTo(expected));
        }
    }

    [TestCase("2")]
    [TestCase("enabled")]
    [TestCase("t")]
    public void Boolean_OtherWords_AreRefused(string text)
    {
        AssertRefused("PROXY_ACCESS_LOG", text, $"PROXY_ACCESS_LOG '{text}' is not true or false");
    }

    [TestCase("0.0.0.0:8080", "0.0.0.0", 8080)]
    [TestCase("[::]:11434", "::", 11434)]
    [TestCase("[::1]:1", "::1", 1)]
    [TestCase("localhost:9000", "127.0.0.1", 9000)]
    [TestCase("LocalHost:0", "127.0.0.1", 0)]
    public void EndPoint_AddressAndPort_IsRead(string text, string address, int port)
    {
        Assert.That(Read(("PROXY_LISTEN", text)).Listen, Is.EqualTo(new IPEndPoint(IPAddress.Parse(address), port)));
    }

    [TestCase("not-an-address")]
    [TestCase("127.0.0.1")]
    [TestCase("127.0.0.1:99999")]
    [TestCase("127.0.0.1:-1")]
    [TestCase("[::1]")]
    [TestCase("example.com:80")]
    [TestCase("localhost")]
    public void EndPoint_WithoutAnAddressOrAPort_IsRefused(string text)
    {
        AssertRefused("PROXY_LISTEN", text, $"PROXY_LISTEN '{text}' is not an address:port such as 127.0.0.1:11434 or [::]:11434");
    }

    [TestCase("https://ollama.com", "https://ollama.com/")]
    [TestCase("https://ollama.com/", "https://ollama.com/")]
    [TestCase("http://192.168.1.10:11434", "http://192.168.1.10:11434/")]
    public void Origin_SchemeHostAndPort_IsRead(string text, string expected)
    {
        Assert.That(Read(("OLLAMA_UPSTREAM_URL", text)).UpstreamUrl, Is.EqualTo(new Uri(expected)));
    }

    [TestCase("ftp://ollama.com")]
    [TestCase("ollama.com")]
    [TestCase("https://ollama.com/api")]
    [TestCase("https://user:pass@ollama.com")]
    [TestCase("https://ollama.com/?a=1")]
    [TestCase("https://ollama.com/#top")]
    public void Origin_WithAnotherSchemeOrMoreThanAnOrigin_IsRefused(string text)
    {
        AssertRefused("OLLAMA_UPSTREAM_URL", text,
            $"OLLAMA_UPSTREAM_URL '{text}' is not an origin such as https://ollama.com or http://192.168.1.10:11434 (scheme, host and optional port only)");
    }

    [Test]
    public void PemFile_WithACertificate_IsRead()
    {
        var certificates = Read(("OLLAMA_UPSTREAM_CA_FILE", TestCertificates.Shared.AuthorityPemPath)).UpstreamCaCertificates;

        Assert.That(certificates?.Select(certificate => certificate.Thumbprint), Is.EqualTo(new[] { TestCertificates.Shared.Authority.Thumbprint }));
    }

    [Test]
    public void PemFile_Missing_IsRefusedNamingThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-{Guid.NewGuid():N}.pem");

        var error = Assert.Throws<ProxyConfigurationException>(() => Read(("OLLAMA_UPSTREAM_CA_FILE", path)));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Variable, Is.EqualTo("OLLAMA_UPSTREAM_CA_FILE"));
            Assert.That(error.Message, Does.StartWith($"OLLAMA_UPSTREAM_CA_FILE '{path}' could not be read as PEM certificates"));
        }
    }

    [Test]
    public void PemFile_WithoutACertificate_IsRefused()
    {
        var path = Path.Combine(Path.GetTempPath(), $"empty-{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, "not a certificate\n");
        try
        {
            AssertRefused("OLLAMA_UPSTREAM_CA_FILE", path, $"OLLAMA_UPSTREAM_CA_FILE '{path}' holds no PEM certificate");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase("abc-DEF_123.~!")]
    [TestCase("sk-0123456789abcdef")]
    public void Secret_VisibleAscii_IsRead(string text)
    {
        Assert.That(Read(("PROXY_AUTH_TOKEN", text)).AuthToken, Is.EqualTo(text));
    }

    [TestCase("secret with-space")]
    [TestCase("secret\twith-tab")]
    [TestCase("secret\rwith-cr")]
    [TestCase("secret\u007fwith-del")]
    [TestCase("sécret-with-latin1")]
    public void Secret_WithSpaceControlOrNonAscii_IsRefusedWithoutQuotingIt(string text)
    {
        var error = Assert.Throws<ProxyConfigurationException>(() => Read(("PROXY_AUTH_TOKEN", text)));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Variable, Is.EqualTo("PROXY_AUTH_TOKEN"));
            Assert.That(error.Message, Is.EqualTo("PROXY_AUTH_TOKEN may contain only visible ASCII characters (no spaces or control characters)"));
        }
    }

    [TestCase("Trace", LogLevel.Trace)]
    [TestCase("warning", LogLevel.Warning)]
    [TestCase("CRITICAL", LogLevel.Critical)]
    [TestCase("None", LogLevel.None)]
    public void LogLevel_Name_IsRead(string text, LogLevel expected)
    {
        Assert.That(Read(("PROXY_LOG_LEVEL", text)).LogLevel, Is.EqualTo(expected));
    }

    [TestCase("loud")]
    [TestCase("Info")]
    [TestCase("99")]
    public void LogLevel_OtherText_IsRefused(string text)
    {
        AssertRefused("PROXY_LOG_LEVEL", text, $"PROXY_LOG_LEVEL '{text}' is not one of Trace, Debug, Information, Warning, Error, Critical, None");
    }

    [Test]
    public void ReadByCompose_AnyValue_IsLeftAlone()
    {
        Assert.That(() => Read(("PROXY_PUBLISH", "anything at all")), Throws.Nothing);
    }

    private static void AssertRefused(string name, string text, string message)
    {
        var error = Assert.Throws<ProxyConfigurationException>(() => Read((name, text)));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Variable, Is.EqualTo(name));
            Assert.That(error.Message, Is.EqualTo(message));
        }
    }
}
