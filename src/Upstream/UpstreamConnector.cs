using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace OllamaSocketProxy.Upstream;

/// <summary>
/// Opens connections to the upstream: TCP with Nagle off, then TLS with SNI, ALPN <c>http/1.1</c> and full
/// certificate validation; extra roots (OLLAMA_UPSTREAM_CA_FILE) are trusted beside the system's.
/// </summary>
public sealed class UpstreamConnector
{
    private readonly UpstreamEndpoint _endpoint;
    private readonly X509Certificate2Collection? _extraRoots;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _timeProvider;
    private readonly SslClientAuthenticationOptions _tls;

    public UpstreamConnector(UpstreamEndpoint endpoint, X509Certificate2Collection? extraRoots, TimeSpan timeout, TimeProvider timeProvider)
    {
        _endpoint = endpoint;
        _extraRoots = extraRoots;
        _timeout = timeout;
        _timeProvider = timeProvider;
        _tls = new SslClientAuthenticationOptions
        {
            TargetHost = endpoint.Host,
            ApplicationProtocols = [SslApplicationProtocol.Http11],
            RemoteCertificateValidationCallback = ValidateCertificate,
        };
    }

    public async ValueTask<UpstreamConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_timeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(_endpoint.Host, _endpoint.Port), linked.Token).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: false);
            if (_endpoint.UseTls)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = tls;
                await tls.AuthenticateAsClientAsync(_tls, linked.Token).ConfigureAwait(false);
            }

            return new UpstreamConnection(socket, stream, _timeProvider);
        }
        catch (Exception e)
        {
            socket.Dispose();
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            throw e switch
            {
                OperationCanceledException when timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested =>
                    new UpstreamConnectException(UpstreamConnectFailure.Timeout, $"connecting to upstream {_endpoint.Authority} timed out", e),
                OperationCanceledException => e,
                SocketException socketError =>
                    new UpstreamConnectException(UpstreamConnectFailure.Unreachable, $"upstream {_endpoint.Authority} unreachable: {socketError.SocketErrorCode}", e),
                AuthenticationException or IOException when _endpoint.UseTls =>
                    new UpstreamConnectException(UpstreamConnectFailure.Tls, $"TLS handshake with upstream {_endpoint.Authority} failed: {e.Message}", e),
                IOException =>
                    new UpstreamConnectException(UpstreamConnectFailure.Unreachable, $"upstream {_endpoint.Authority} unreachable: {e.Message}", e),
                _ => e,
            };
        }
    }

    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        // Only a chain that fails for want of a root may be rescued by the extra roots; a wrong name never is.
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || _extraRoots is null || certificate is null)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_extraRoots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }
}
