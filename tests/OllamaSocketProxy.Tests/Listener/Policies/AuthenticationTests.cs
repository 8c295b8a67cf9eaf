using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Policies;

/// <summary>
/// Every request carries the proxy's token, or it gets a 401 and nothing goes upstream
/// (docs/BEHAVIOUR.md#authentication).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class AuthenticationTests
{
    [Test]
    public async Task MissingToken_Gets401WithBearerChallengeAndCloseAndNothingReachesUpstream()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync("POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
        var response = await client.ReadResponseAsync("POST");

        AssertUnauthorized(response);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [TestCase("Authorization: Bearer wrong-token")]
    [TestCase("Authorization: Bearer {token}x")]
    [TestCase("Authorization: Bearer {token-1}")]
    [TestCase("Authorization: Bearer x{token}")]
    [TestCase("Authorization: Basic {token}")]
    [TestCase("Authorization: {token}")]
    [TestCase("Authorization: Bearer")]
    [TestCase("Authorization: Bearer ")]
    [TestCase("Authorization:")]
    [TestCase("Proxy-Authorization: Bearer {token}")]
    [TestCase("x-api-key: wrong-token")]
    [TestCase("x-api-key: Bearer {token}")]
    [TestCase("x-api-key: {token}x")]
    public async Task WrongCredential_Gets401AndNothingReachesUpstream(string credentialField)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var field = credentialField
            .Replace("{token-1}", proxy.Token[..^1], StringComparison.Ordinal)
            .Replace("{token}", proxy.Token, StringComparison.Ordinal);

        var response = await proxy.SendAsync($"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\n{field}\r\n\r\n");

        AssertUnauthorized(response);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [TestCase("Bearer")]
    [TestCase("bearer")]
    [TestCase("BEARER")]
    [TestCase("bEaReR")]
    public async Task BearerSchemeInAnyCase_IsAcceptedAndReplacedByTheKey(string scheme)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync($"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\nAuthorization: {scheme} {proxy.Token}\r\n\r\n");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(proxy.Origin.Requests.Single().Headers.All("Authorization"), Is.EqualTo(new[] { $"Bearer {proxy.ApiKey}" }));
    }

    [TestCase("x-api-key")]
    [TestCase("X-Api-Key")]
    public async Task ApiKeyField_IsAcceptedAndNotForwarded(string fieldName)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(
            $"POST /v1/messages HTTP/1.1\r\nHost: proxy.test\r\n{fieldName}: {proxy.Token}\r\nanthropic-version: 2023-06-01\r\nContent-Length: 2\r\n\r\n{{}}");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var forwarded = proxy.Origin.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(forwarded.Headers.Contains("x-api-key"), Is.False, forwarded.Head);
            Assert.That(forwarded.Headers.All("Authorization"), Is.EqualTo(new[] { $"Bearer {proxy.ApiKey}" }));
            Assert.That(forwarded.Headers["anthropic-version"], Is.EqualTo("2023-06-01"));
        }
    }

    [Test]
    public async Task TwoAuthorizationFields_AreRejectedAndNothingReachesUpstream()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync($"GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}{proxy.AuthorizationField}\r\n");

        // The token comes in exactly one Authorization field (docs/BEHAVIOUR.md#authentication); two are not that
        // (401), or a malformed head (400).
        Assert.That(response.StatusCode, Is.AnyOf(400, 401), response.Describe());
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task SecondRequestWithoutToken_Gets401AndNeverReachesUpstream()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/tags"));
        var first = await client.ReadResponseAsync();
        await client.SendAsync("GET /api/ps HTTP/1.1\r\nHost: proxy.test\r\n\r\n");
        var second = await client.ReadResponseAsync();

        Assert.That(first.StatusCode, Is.EqualTo(200), first.Describe());
        AssertUnauthorized(second);
        await ProxyAssert.ClosesConnectionAsync(client, second);
        Assert.That(proxy.Origin.Requests.Select(request => request.Target), Is.EqualTo(new[] { "/api/tags" }));
    }

    [Test]
    public async Task PipelinedRequestsWithTokens_AreEachForwardedAndAnsweredInOrder()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/first") + proxy.Get("/api/second"));
        var first = await client.ReadResponseAsync();
        var second = await client.ReadResponseAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.BodyText, Is.EqualTo("""{"target":"/api/first"}"""), first.Describe());
            Assert.That(second.BodyText, Is.EqualTo("""{"target":"/api/second"}"""), second.Describe());
            Assert.That(proxy.Origin.Requests.Select(request => request.Target), Is.EqualTo(new[] { "/api/first", "/api/second" }));
        }
    }

    [Test]
    public async Task PipelinedSecondRequestWithoutToken_Gets401AndNeverReachesUpstream()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync(proxy.Get("/api/first") + "GET /api/second HTTP/1.1\r\nHost: proxy.test\r\n\r\n" + proxy.Get("/api/third"));
        var first = await client.ReadResponseAsync();
        var second = await client.ReadResponseAsync();

        Assert.That(first.StatusCode, Is.EqualTo(200), first.Describe());
        AssertUnauthorized(second);
        await ProxyAssert.ClosesConnectionAsync(client, second);
        Assert.That(proxy.Origin.Requests.Select(request => request.Target), Is.EqualTo(new[] { "/api/first" }));
    }

    [Test]
    public async Task MalformedRequestWithoutToken_Gets400Not401()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync("GET /api/tags HTTP/1.1\r\nX-Missing-Host: yes\r\n\r\n");

        ProxyAssert.IsJsonError(response, 400);
    }

    [Test]
    public async Task ExpectContinueWithoutToken_Gets401WithoutContinue()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync("POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
        var response = await client.ReadResponseAsync("POST");

        Assert.That(response.Interim, Is.Empty, response.Describe());
        AssertUnauthorized(response);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task NoTokenConfigured_RequestWithoutCredentialIsForwardedWithTheKey()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), requireToken: false);

        var response = await proxy.SendAsync("GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\n\r\n");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(proxy.Origin.Requests.Single().Headers.All("Authorization"), Is.EqualTo(new[] { $"Bearer {proxy.ApiKey}" }));
    }

    [Test]
    public async Task NoTokenConfigured_ClientAuthorizationIsStillReplacedByTheKey()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), requireToken: false);

        var response = await proxy.SendAsync("GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\nAuthorization: Bearer someone-elses-key\r\n\r\n");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(proxy.Origin.Requests.Single().Headers.All("Authorization"), Is.EqualTo(new[] { $"Bearer {proxy.ApiKey}" }));
    }

    private static void AssertUnauthorized(RawResponse response)
    {
        ProxyAssert.IsJsonError(response, 401);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Headers["WWW-Authenticate"], Does.StartWith("Bearer"), response.Describe());
            Assert.That(response.JsonError, Is.EqualTo("unauthorized"));
            Assert.That(response.Head.AnnouncesClose, Is.True, "401 without Connection: close");
        }
    }
}
