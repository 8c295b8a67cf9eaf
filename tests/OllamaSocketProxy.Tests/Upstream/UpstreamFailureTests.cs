using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Upstream;

/// <summary>Failures of the upstream become the proxy's own JSON errors (docs/BEHAVIOUR.md#errors).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class UpstreamFailureTests
{
    [Test]
    public async Task UpstreamRefusesTheConnection_Gets502Json()
    {
        await using var proxy = await ProxyHarness.StartAsync($"https://localhost:{UnusedPort.Find()}");

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        ProxyAssert.IsJsonError(response, 502);
    }

    [Test]
    public async Task PlainUpstreamRefusesTheConnection_Gets502Json()
    {
        await using var proxy = await ProxyHarness.StartAsync($"http://127.0.0.1:{UnusedPort.Find()}");

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        ProxyAssert.IsJsonError(response, 502);
    }

    [Test]
    public async Task UpstreamCertificateNotUnderATrustedRoot_Gets502JsonAndNothingIsSent()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(TestCertificates.Shared.SelfSignedLeaf));

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        ProxyAssert.IsJsonError(response, 502);
        Assert.That(proxy.Origin.Requests, Is.Empty);
    }

    [Test]
    public async Task UpstreamCertificateForAnotherName_Gets502JsonAndNothingIsSent()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(TestCertificates.Shared.OtherNameLeaf));

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        ProxyAssert.IsJsonError(response, 502);
        Assert.That(proxy.Origin.Requests, Is.Empty);
    }

    [Test]
    public async Task UpstreamResetsBeforeTheResponseHead_Gets502Json()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange =>
        {
            exchange.Abort();
            return Task.CompletedTask;
        }));

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        ProxyAssert.IsJsonError(response, 502);
    }

    [Test]
    public async Task UpstreamSendsGarbageInsteadOfAHead_Gets502Json()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync("SSH-2.0-OpenSSH_9.6\r\n\r\n");
            exchange.CloseAfterResponse();
        }));

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        ProxyAssert.IsJsonError(response, 502);
    }

    [Test]
    public async Task UpstreamErrorStatus_IsRelayedAsReceived()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(exchange =>
            exchange.RespondAsync(404, "application/json; charset=utf-8", """{"error":"model 'nope' not found"}""")));

        var response = await proxy.SendAsync(proxy.Get("/api/show"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(404), response.Describe());
            Assert.That(response.BodyText, Is.EqualTo("""{"error":"model 'nope' not found"}"""));
        }
    }
}
