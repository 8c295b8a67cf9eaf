using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// A throwaway certificate authority and the leaves the end-to-end tests present as the upstream. Made once per
/// test run; the CA's PEM file is what <c>OLLAMA_UPSTREAM_CA_FILE</c> points at.
/// </summary>
public sealed class TestCertificates
{
    private static readonly Lazy<TestCertificates> LazyShared = new(() => new TestCertificates());

    private TestCertificates()
    {
        var notBefore = DateTimeOffset.UtcNow.AddDays(-1);
        var notAfter = DateTimeOffset.UtcNow.AddDays(30);

        using var authorityKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var authorityRequest = new CertificateRequest("CN=OllamaSocketProxy Test CA", authorityKey, HashAlgorithmName.SHA256);
        authorityRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, false, 0, critical: true));
        authorityRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        authorityRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(authorityRequest.PublicKey, critical: false));
        Authority = authorityRequest.CreateSelfSigned(notBefore, notAfter.AddDays(1));

        LocalhostLeaf = CreateLeaf("localhost", withLoopbackAddress: true, Authority, notBefore, notAfter);
        OtherNameLeaf = CreateLeaf("other.example", withLoopbackAddress: false, Authority, notBefore, notAfter);
        SelfSignedLeaf = CreateLeaf("localhost", withLoopbackAddress: true, issuer: null, notBefore, notAfter);

        Directory = System.IO.Directory.CreateTempSubdirectory("ollama-socket-proxy-e2e-").FullName;
        AuthorityPemPath = Path.Combine(Directory, "test-ca.pem");
        File.WriteAllText(AuthorityPemPath, Authority.ExportCertificatePem());
    }

    public static TestCertificates Shared => LazyShared.Value;

    public static bool IsCreated => LazyShared.IsValueCreated;

    public X509Certificate2 Authority { get; }

    /// <summary>For DNS <c>localhost</c> and IP 127.0.0.1, signed by <see cref="Authority"/>.</summary>
    public X509Certificate2 LocalhostLeaf { get; }

    /// <summary>For <c>localhost</c> and 127.0.0.1 too, but self-signed: not under <see cref="Authority"/>.</summary>
    public X509Certificate2 SelfSignedLeaf { get; }

    /// <summary>Signed by <see cref="Authority"/>, but for <c>other.example</c> only.</summary>
    public X509Certificate2 OtherNameLeaf { get; }

    public string AuthorityPemPath { get; }

    /// <summary>The temporary folder holding <see cref="AuthorityPemPath"/>; deleted after the run.</summary>
    public string Directory { get; }

    private static X509Certificate2 CreateLeaf(
        string dnsName, bool withLoopbackAddress, X509Certificate2? issuer, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        var alternativeNames = new SubjectAlternativeNameBuilder();
        alternativeNames.AddDnsName(dnsName);
        if (withLoopbackAddress)
        {
            alternativeNames.AddIpAddress(IPAddress.Loopback);
        }

        request.CertificateExtensions.Add(alternativeNames.Build());

        X509Certificate2 certificate;
        if (issuer is null)
        {
            certificate = request.CreateSelfSigned(notBefore, notAfter);
        }
        else
        {
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
            var serialNumber = RandomNumberGenerator.GetBytes(16);
            serialNumber[0] &= 0x7F;
            using var signed = request.Create(issuer, notBefore, notAfter, serialNumber);
            certificate = signed.CopyWithPrivateKey(key);
        }

        // Through PKCS#12 and back, so SslStream on Linux gets a private key it can use.
        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
        }
    }
}
