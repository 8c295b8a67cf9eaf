using System.Security.Cryptography.X509Certificates;
using OllamaSocketProxy.Tests.Infrastructure;
using OllamaSocketProxy.Upstream;
using UpstreamConnection = OllamaSocketProxy.Upstream.UpstreamConnection;

namespace OllamaSocketProxy.Tests.Upstream;

/// <summary>
/// <see cref="UpstreamConnector"/> against origins on 127.0.0.1: TCP, or TLS with SNI, ALPN <c>http/1.1</c> and full
/// certificate validation, where extra roots (<c>OLLAMA_UPSTREAM_CA_FILE</c>) may rescue a chain but never a wrong
/// name; each failure is an <see cref="UpstreamConnectException"/> naming its kind, and the connect timeout passes on
/// an <see cref="ObservedClock"/> (docs/BEHAVIOUR.md#connections).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class UpstreamConnectorTests
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    private static X509Certificate2Collection TestRoot => [TestCertificates.Shared.Authority];

    [Test]
    public async Task PlainEndpoint_ConnectsOverTcp()
    {
        await using var origin = TestUpstream.StartPlain();
        var connector = Connector(new UpstreamEndpoint("127.0.0.1", origin.Port, UseTls: false));

        await using var connection = await ConnectAsync(connector);
        var accepted = await origin.WaitForConnectionAsync(1);

        Assert.That(accepted.TlsProtocol, Is.Null);
    }

    [Test]
    public async Task TlsEndpointUnderAnExtraRoot_ConnectsWithSniAndHttp11ByAlpn()
    {
        await using var origin = TestUpstream.StartTls();
        var connector = Connector(new UpstreamEndpoint("localhost", origin.Port, UseTls: true), TestRoot);

        await using var connection = await ConnectAsync(connector);
        var accepted = await origin.WaitForConnectionAsync(1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(accepted.ServerName, Is.EqualTo("localhost"));
            Assert.That(accepted.NegotiatedProtocol, Is.EqualTo("http/1.1"));
            Assert.That(connection.FromPool, Is.False);
        }
    }

    [Test]
    public async Task TlsEndpointWithoutTheExtraRoot_FailsWithTls()
    {
        await using var origin = TestUpstream.StartTls();
        var connector = Connector(new UpstreamEndpoint("localhost", origin.Port, UseTls: true));

        var failure = await FailureAsync(connector);

        Assert.That(failure.Failure, Is.EqualTo(UpstreamConnectFailure.Tls), failure.Message);
    }

    /// <summary>The extra roots rescue only a chain that lacks a root; a certificate for another name fails all the same.</summary>
    [Test]
    public async Task CertificateForAnotherNameUnderTheExtraRoot_FailsWithTls()
    {
        await using var origin = TestUpstream.StartTls(TestCertificates.Shared.OtherNameLeaf);
        var connector = Connector(new UpstreamEndpoint("localhost", origin.Port, UseTls: true), TestRoot);

        var failure = await FailureAsync(connector);

        Assert.That(failure.Failure, Is.EqualTo(UpstreamConnectFailure.Tls), failure.Message);
    }

    [Test]
    public async Task SelfSignedCertificate_FailsWithTls()
    {
        await using var origin = TestUpstream.StartTls(TestCertificates.Shared.SelfSignedLeaf);
        var connector = Connector(new UpstreamEndpoint("localhost", origin.Port, UseTls: true), TestRoot);

        var failure = await FailureAsync(connector);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(failure.Failure, Is.EqualTo(UpstreamConnectFailure.Tls), failure.Message);
            Assert.That(failure.Message, Does.Contain($"localhost:{origin.Port}"));
        }
    }

    [Test]
    public async Task NothingListening_FailsUnreachableNamingTheAuthority()
    {
        var port = UnusedPort.Find();
        var connector = Connector(new UpstreamEndpoint("127.0.0.1", port, UseTls: false));

        var failure = await FailureAsync(connector);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(failure.Failure, Is.EqualTo(UpstreamConnectFailure.Unreachable));
            Assert.That(failure.Message, Does.Contain($"127.0.0.1:{port}").And.Contain("unreachable"));
        }
    }

    [Test]
    public async Task NameThatDoesNotResolve_FailsUnreachable()
    {
        var host = new Uri(UpstreamFaultTests.UnresolvableOrigin).Host;
        var connector = Connector(new UpstreamEndpoint(host, 443, UseTls: true));

        var failure = await FailureAsync(connector);

        Assert.That(failure.Failure, Is.EqualTo(UpstreamConnectFailure.Unreachable), failure.Message);
    }

    [Test]
    public async Task HandshakeNeverAnswered_FailsWithTimeoutAfterTheConnectTimeout()
    {
        var clock = new ObservedClock();
        await using var silent = new SilentListener();
        var connector = Connector(new UpstreamEndpoint("127.0.0.1", silent.Port, UseTls: true), clock: clock);

        var connecting = connector.ConnectAsync(CancellationToken.None).AsTask();
        await silent.WaitForAcceptedAsync(1);
        await clock.WaitForArmedAsync(ConnectTimeout);
        Assert.That(connecting.IsCompleted, Is.False, "The connect ended before its timeout.");
        clock.Advance(ConnectTimeout);
        var failure = Assert.ThrowsAsync<UpstreamConnectException>(async () => await connecting.OrTimeoutAsync());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(failure?.Failure, Is.EqualTo(UpstreamConnectFailure.Timeout));
            Assert.That(failure?.Message, Does.Contain("timed out"));
        }
    }

    /// <summary>The caller giving up (client gone, shutdown) is a cancellation, not a failure of the upstream.</summary>
    [Test]
    public async Task CallerCancels_OperationCanceledNotAConnectFailure()
    {
        await using var silent = new SilentListener();
        var connector = Connector(new UpstreamEndpoint("127.0.0.1", silent.Port, UseTls: true));
        using var caller = new CancellationTokenSource();

        var connecting = connector.ConnectAsync(caller.Token).AsTask();
        await silent.WaitForAcceptedAsync(1);
        await caller.CancelAsync();

        Assert.That(async () => await connecting.OrTimeoutAsync(), Throws.InstanceOf<OperationCanceledException>());
    }

    private static UpstreamConnector Connector(UpstreamEndpoint endpoint, X509Certificate2Collection? extraRoots = null, TimeProvider? clock = null) =>
        new(endpoint, extraRoots, ConnectTimeout, clock ?? TimeProvider.System);

    private static async Task<UpstreamConnection> ConnectAsync(UpstreamConnector connector) =>
        await connector.ConnectAsync(CancellationToken.None).AsTask().OrTimeoutAsync();

    private static async Task<UpstreamConnectException> FailureAsync(UpstreamConnector connector)
    {
        try
        {
            await using var connection = await ConnectAsync(connector);
        }
        catch (UpstreamConnectException e)
        {
            return e;
        }

        Assert.Fail("The connection was made.");
        return null!;
    }
}
