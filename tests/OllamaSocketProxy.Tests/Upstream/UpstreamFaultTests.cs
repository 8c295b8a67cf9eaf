using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Upstream;

/// <summary>
/// Every way the upstream can fail before a response head is a 502 whose JSON error names the cause, so a user can
/// tell a typo in <c>OLLAMA_UPSTREAM_URL</c> from a certificate problem, and never carries a secret
/// (docs/BEHAVIOUR.md#errors).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class UpstreamFaultTests
{
    /// <summary>
    /// A name that cannot resolve and never leaves the machine: its first label is longer than DNS allows (RFC 1035
    /// §2.3.4), so the resolver refuses it without a query. (<c>does-not-exist.invalid</c> would be sent to the
    /// configured name server.)
    /// </summary>
    public static readonly string UnresolvableOrigin = $"https://does-not-exist-{new string('x', 60)}.invalid";

    public enum Fault
    {
        Refused,
        Unresolvable,
        UntrustedCertificate,
        CertificateForAnotherName,
        ResetBeforeTheHead,
        GarbageInsteadOfAHead,
    }

    [TestCase(Fault.Refused, "unreachable")]
    [TestCase(Fault.Unresolvable, "unreachable")]
    [TestCase(Fault.UntrustedCertificate, "TLS")]
    [TestCase(Fault.CertificateForAnotherName, "TLS")]
    [TestCase(Fault.ResetBeforeTheHead, "closed")]
    [TestCase(Fault.GarbageInsteadOfAHead, "invalid")]
    public async Task UpstreamFault_Gets502JsonNamingTheCauseWithoutASecret(Fault fault, string cause)
    {
        await using var proxy = await StartAsync(fault);

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        ProxyAssert.IsJsonError(response, 502);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.JsonError, Does.Contain(cause).IgnoreCase, response.Describe());
            Assert.That(response.Describe(), Does.Not.Contain(proxy.ApiKey).And.Not.Contain(proxy.Token));
        }
    }

    [Test]
    public async Task UpstreamHostThatDoesNotResolve_Gets502JsonAndTheCauseIsLogged()
    {
        await using var proxy = await ProxyHarness.StartAsync(UnresolvableOrigin);

        var response = await proxy.SendAsync(proxy.Get("/api/tags"));

        ProxyAssert.IsJsonError(response, 502);
        var logged = await proxy.Logs.WaitForLineAsync(line => line.Contains("unreachable", StringComparison.OrdinalIgnoreCase));
        Assert.That(logged, Does.Contain("does-not-exist-"), "The log line does not name the host that failed.");
    }

    private static Task<ProxyHarness> StartAsync(Fault fault) => fault switch
    {
        Fault.Refused => ProxyHarness.StartAsync($"https://localhost:{UnusedPort.Find()}"),
        Fault.Unresolvable => ProxyHarness.StartAsync(UnresolvableOrigin),
        Fault.UntrustedCertificate => ProxyHarness.StartAsync(TestUpstream.StartTls(TestCertificates.Shared.SelfSignedLeaf)),
        Fault.CertificateForAnotherName => ProxyHarness.StartAsync(TestUpstream.StartTls(TestCertificates.Shared.OtherNameLeaf)),
        Fault.ResetBeforeTheHead => ProxyHarness.StartAsync(TestUpstream.StartTls(exchange =>
        {
            exchange.Abort();
            return Task.CompletedTask;
        })),
        _ => ProxyHarness.StartAsync(TestUpstream.StartTls(async exchange =>
        {
            await exchange.WriteAsync("SSH-2.0-OpenSSH_9.6\r\n\r\n");
            exchange.CloseAfterResponse();
        })),
    };
}
