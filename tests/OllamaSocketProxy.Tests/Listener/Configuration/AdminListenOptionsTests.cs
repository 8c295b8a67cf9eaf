using System.Net;
using OllamaSocketProxy.Listener;
using static OllamaSocketProxy.Tests.Listener.Configuration.OptionsFromEnvironment;

namespace OllamaSocketProxy.Tests.Listener.Configuration;

/// <summary>
/// The admin listener's settings taken together: beyond loopback only with <c>PROXY_ADMIN_TOKEN</c>, and never on the
/// API port (README.md#usage-and-metrics). Each refusal is one line naming <c>PROXY_ADMIN_LISTEN</c> and why.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class AdminListenOptionsTests
{
    private const string AdminToken = "admin-token-5c1f9a";

    [Test]
    public void Default_IsLoopbackPort11435WithoutAToken()
    {
        var options = Read();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(options.AdminListen, Is.EqualTo(new IPEndPoint(IPAddress.Loopback, 11435)));
            Assert.That(options.AdminToken, Is.Null);
            Assert.That(options.AdminMetricsOpen, Is.False);
        }
    }

    [TestCase("0.0.0.0:11435")]
    [TestCase("[::]:11435")]
    [TestCase("192.168.1.5:9000")]
    public void BeyondLoopbackWithoutAToken_IsRefusedSayingWhy(string listen)
    {
        var error = Assert.Throws<ProxyConfigurationException>(() => Read(("PROXY_ADMIN_LISTEN", listen)));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Variable, Is.EqualTo("PROXY_ADMIN_LISTEN"));
            Assert.That(error.Message, Does.Contain("not on loopback").And.Contain("PROXY_ADMIN_TOKEN must be set"));
            Assert.That(error.Message, Does.Not.Contain("\n"));
        }
    }

    [TestCase("0.0.0.0:11435")]
    [TestCase("[::]:11435")]
    public void BeyondLoopbackWithAToken_IsAccepted(string listen)
    {
        var options = Read(("PROXY_ADMIN_LISTEN", listen), ("PROXY_ADMIN_TOKEN", AdminToken));

        Assert.That(options.AdminListen!.Port, Is.EqualTo(11435));
    }

    [TestCase("127.0.0.1:11435")]
    [TestCase("[::1]:11435")]
    [TestCase("localhost:11435")]
    [TestCase("off")]
    public void LoopbackOrOff_NeedsNoToken(string listen)
    {
        Assert.That(() => Read(("PROXY_ADMIN_LISTEN", listen)), Throws.Nothing);
    }

    [TestCase("127.0.0.1:11434", "127.0.0.1:11434")]
    [TestCase("0.0.0.0:8080", "127.0.0.1:8080")]
    [TestCase("127.0.0.1:8080", "0.0.0.0:8080")]
    [TestCase("[::1]:8080", "[::]:8080")]
    [TestCase("0.0.0.0:8080", "[::1]:8080")]
    public void OnTheApiPort_IsRefused(string api, string admin)
    {
        var error = Assert.Throws<ProxyConfigurationException>(() =>
            Read(("PROXY_LISTEN", api), ("PROXY_ADMIN_LISTEN", admin), ("PROXY_ADMIN_TOKEN", AdminToken)));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Variable, Is.EqualTo("PROXY_ADMIN_LISTEN"));
            Assert.That(error.Message, Does.Contain("never the API port"));
            Assert.That(error.Message, Does.Not.Contain(AdminToken));
        }
    }

    [TestCase("127.0.0.1:8080", "127.0.0.2:8080")]
    [TestCase("127.0.0.1:8080", "127.0.0.1:8081")]
    [TestCase("127.0.0.1:0", "127.0.0.1:0")]
    public void OnAnotherAddressOrPort_OrBothOnPort0_IsAccepted(string api, string admin)
    {
        Assert.That(() => Read(("PROXY_LISTEN", api), ("PROXY_ADMIN_LISTEN", admin)), Throws.Nothing);
    }
}
