using System.Text;
using OllamaSocketProxy.Listener.Admin;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Admin;

/// <summary>
/// Who may read what (README.md#usage-and-metrics): the decision itself for each place the listener may be, then the
/// same rules over a real socket on loopback, with both ways of sending the token.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class AdminAccessTests
{
    private const string Token = AdminHarness.Token;

    private static readonly AdminEndpoint[] Probes = [AdminEndpoint.Health, AdminEndpoint.Ready, AdminEndpoint.Metrics];
    private static readonly AdminEndpoint[] Private = [AdminEndpoint.Usage, AdminEndpoint.Status, AdminEndpoint.Dashboard];

    [TestCase(true, false)]
    [TestCase(false, false)]
    [TestCase(false, true)]
    public void WithoutAToken_EverythingIsOpen(bool onLoopback, bool metricsOpen)
    {
        var access = new AdminAccess(null, onLoopback, metricsOpen);

        Assert.That(Probes.Concat(Private).Where(access.NeedsToken), Is.Empty);
    }

    [Test]
    public void WithATokenOnLoopback_OnlyUsageStatusAndThePageNeedIt()
    {
        var access = new AdminAccess(Token, onLoopback: true, metricsOpen: false);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Probes.Where(access.NeedsToken), Is.Empty);
            Assert.That(Private.Where(access.NeedsToken), Is.EqualTo(Private));
        }
    }

    [Test]
    public void WithATokenOffLoopback_EverythingNeedsIt()
    {
        var access = new AdminAccess(Token, onLoopback: false, metricsOpen: false);

        Assert.That(Probes.Concat(Private).Where(access.NeedsToken), Is.EqualTo(Probes.Concat(Private)));
    }

    [Test]
    public void WithATokenOffLoopbackAndMetricsOpen_TheProbesAreOpen()
    {
        var access = new AdminAccess(Token, onLoopback: false, metricsOpen: true);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Probes.Where(access.NeedsToken), Is.Empty);
            Assert.That(Private.Where(access.NeedsToken), Is.EqualTo(Private));
        }
    }

    [TestCase("Bearer " + Token)]
    [TestCase("bearer " + Token)]
    [TestCase("BEARER   " + Token)]
    public void Bearer_CarriesTheToken(string authorization)
    {
        Assert.That(new AdminAccess(Token, true, false).Presents(Encoding.ASCII.GetBytes(authorization)), Is.True);
    }

    [TestCase("admin:" + Token)]
    [TestCase(":" + Token)]
    [TestCase("ünïcode user:" + Token)]
    public void Basic_CarriesTheTokenAsThePasswordOfAnyUser(string userPass)
    {
        var authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(userPass));

        Assert.That(new AdminAccess(Token, true, false).Presents(Encoding.ASCII.GetBytes(authorization)), Is.True);
    }

    [Test]
    public void Basic_APasswordMayHoldAColon_AndALongOneIsDecodedToo()
    {
        var token = "with:colon-" + new string('x', 2000);
        var authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("user:" + token));

        Assert.That(new AdminAccess(token, true, false).Presents(Encoding.ASCII.GetBytes(authorization)), Is.True);
    }

    [TestCase("Bearer admin-token-7d3e91b")]
    [TestCase("Bearer admin-token-7d3e91b0x")]
    [TestCase("Bearer " + Token + " ")]
    [TestCase("Bearer")]
    [TestCase("Bearer ")]
    [TestCase("Bearer" + Token)]
    [TestCase("Token " + Token)]
    [TestCase(Token)]
    [TestCase("Basic " + Token)]
    [TestCase("Basic !!!!")]
    [TestCase("Basic ")]
    [TestCase("")]
    public void WrongOrMalformedCredentials_DoNotCarryTheToken(string authorization)
    {
        Assert.That(new AdminAccess(Token, true, false).Presents(Encoding.ASCII.GetBytes(authorization)), Is.False);
    }

    [TestCase("admin" + Token)]
    [TestCase(Token + ":")]
    [TestCase("admin:wrong")]
    public void Basic_WithoutTheTokenAfterTheFirstColon_DoesNotCarryIt(string userPass)
    {
        var authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(userPass));

        Assert.That(new AdminAccess(Token, true, false).Presents(Encoding.ASCII.GetBytes(authorization)), Is.False);
    }

    [TestCase("/usage")]
    [TestCase("/status")]
    public async Task OnLoopbackWithAToken_TheJsonEndpointsWithoutIt_Are401WithABearerChallenge(string target)
    {
        await using var admin = AdminHarness.Start(AdminHarness.Sources(queryUsage: _ => throw new AssertionException("not to be queried")), withToken: true);

        var response = await admin.SendAsync(target);

        ProxyAssert.IsJsonError(response, 401);
        Assert.That(response.Headers["WWW-Authenticate"], Is.EqualTo("Bearer realm=\"OllamaSocketProxy admin\""));
    }

    [Test]
    public async Task OnLoopbackWithAToken_ThePageWithoutIt_Is401WithABasicChallenge()
    {
        await using var admin = AdminHarness.Start(withToken: true);

        var response = await admin.SendAsync("/");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(401), response.Describe());
            Assert.That(response.Headers["WWW-Authenticate"], Is.EqualTo("Basic realm=\"OllamaSocketProxy admin\", charset=\"UTF-8\""));
            Assert.That(response.BodyText, Does.Not.Contain("<html"));
        }
    }

    [TestCase("/healthz")]
    [TestCase("/readyz")]
    [TestCase("/metrics")]
    public async Task OnLoopbackWithAToken_TheProbesAreOpen(string target)
    {
        await using var admin = AdminHarness.Start(withToken: true);

        var response = await admin.SendAsync(target);

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
    }

    [Test]
    public async Task TheTokenAsBearerOrBasic_OpensEveryEndpoint()
    {
        var basic = "Authorization: Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("anyone:" + Token)) + "\r\n";
        await using var admin = AdminHarness.Start(withToken: true);

        var statuses = new List<int>();
        foreach (var target in new[] { "/", "/status", "/usage", "/metrics" })
        {
            statuses.Add((await admin.SendAsync(target, AdminHarness.BearerField)).StatusCode);
            statuses.Add((await admin.SendAsync(target, basic)).StatusCode);
        }

        // /usage: the database is off in these sources, which is said only to who may ask.
        Assert.That(statuses, Is.EqualTo(new[] { 200, 200, 200, 200, 404, 404, 200, 200 }));
    }

    [Test]
    public async Task TwoAuthorizationFields_Are401EvenWithTheToken()
    {
        await using var admin = AdminHarness.Start(withToken: true);

        var response = await admin.SendAsync("/status", AdminHarness.BearerField + AdminHarness.BearerField);

        ProxyAssert.IsJsonError(response, 401);
    }

    [Test]
    public async Task AWrongToken_Is401_AndTheConnectionCloses_SoItHoldsNoSlot()
    {
        await using var admin = AdminHarness.Start(withToken: true);
        var client = await admin.ConnectAsync();

        await client.SendAsync("GET /status HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer wrong\r\n\r\n");
        var refused = await client.ReadResponseAsync();

        ProxyAssert.IsJsonError(refused, 401);
        await ProxyAssert.ClosesConnectionAsync(client, refused);
        Assert.That((await admin.SendAsync("/status", AdminHarness.BearerField)).StatusCode, Is.EqualTo(200), "the right token, on a new connection");
    }

    [TestCase("localhost", true)]
    [TestCase("LocalHost:11435", true)]
    [TestCase("127.0.0.1", true)]
    [TestCase("127.1.2.3:80", true)]
    [TestCase("[::1]", true)]
    [TestCase("[::1]:11435", true)]
    [TestCase("evil.example", false)]
    [TestCase("evil.example:11435", false)]
    [TestCase("localhost.evil.example", false)]
    [TestCase("127.0.0.1.evil.example", false)]
    [TestCase("192.168.1.10:11435", false)]
    [TestCase("[::ffff:10.0.0.1]", false)]
    [TestCase("[::1", false)]
    [TestCase("", false)]
    public void LoopbackHost_IsLocalhostOrALoopbackAddress(string host, bool loopback)
    {
        Assert.That(AdminAccess.IsLoopbackHost(System.Text.Encoding.ASCII.GetBytes(host)), Is.EqualTo(loopback));
    }

    [TestCase("/healthz")]
    [TestCase("/metrics")]
    [TestCase("/usage")]
    [TestCase("/")]
    public async Task OnLoopback_ARequestForAnotherName_Is403WhateverItsToken(string target)
    {
        // DNS rebinding: a page at http://evil.example:11435/ whose name now leads to 127.0.0.1.
        await using var admin = AdminHarness.Start(withToken: false);
        var client = await admin.ConnectAsync();

        await client.SendAsync($"GET {target} HTTP/1.1\r\nHost: evil.example:11435\r\n\r\n");
        var refused = await client.ReadResponseAsync();

        Assert.That(refused.StatusCode, Is.EqualTo(403), refused.Describe());
        Assert.That(refused.BodyText, Does.Contain("localhost"));
        await ProxyAssert.ClosesConnectionAsync(client, refused);
    }

    [Test]
    public void OffLoopback_AnyNameMayLeadThere()
    {
        var access = new AdminAccess(Token, onLoopback: false, metricsOpen: false);
        var head = new OllamaSocketProxy.Http1.RequestHead();
        var reader = new System.Buffers.SequenceReader<byte>(new System.Buffers.ReadOnlySequence<byte>(
            System.Text.Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: proxy.lan:11435\r\n\r\n")));
        Assert.That(OllamaSocketProxy.Http1.RequestHeadParser.TryParse(ref reader, OllamaSocketProxy.Http1.RequestLimits.Default, head), Is.True);

        Assert.That(access.AllowsHost(head), Is.True);
    }
}
