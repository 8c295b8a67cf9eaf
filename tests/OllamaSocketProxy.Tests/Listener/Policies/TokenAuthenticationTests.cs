using Microsoft.Extensions.Logging.Abstractions;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Policies;

/// <summary>Authentication names the client from its token, or refuses it (docs/BEHAVIOUR.md#authentication).</summary>
public sealed class TokenAuthenticationTests
{
    private const string Token = "proxy-token-123";

    private static ClientDefinition? Authenticate(string? configured, string fields)
    {
        var head = RequestParse.Run($"GET /api/tags HTTP/1.1\r\nHost: x\r\n{fields}\r\n", BufferShapes.OneSegment).Head;
        using var clients = new ClientRegistrySource(null, configured, NullLogger.Instance);
        return new TokenAuthentication(clients).Authenticate(head);
    }

    [TestCase("Authorization: Bearer proxy-token-123\r\n")]
    [TestCase("Authorization: bearer proxy-token-123\r\n")]
    [TestCase("Authorization: BEARER proxy-token-123\r\n")]
    [TestCase("x-api-key: proxy-token-123\r\n")]
    [TestCase("Authorization: Bearer wrong\r\nx-api-key: proxy-token-123\r\n")]
    public void RightToken_NamesTheDefaultClient(string fields) =>
        Assert.That(Authenticate(Token, fields)?.Name, Is.EqualTo("default"));

    [TestCase("")]
    [TestCase("Authorization: Bearer proxy-token-12\r\n")]
    [TestCase("Authorization: Bearer proxy-token-1234\r\n")]
    [TestCase("Authorization: Basic proxy-token-123\r\n")]
    [TestCase("Authorization: Bearer  proxy-token-123\r\n")]
    [TestCase("Authorization: Bearer\r\n")]
    [TestCase("Authorization: Bearer proxy-token-123\r\nAuthorization: Bearer proxy-token-123\r\n")]
    [TestCase("x-api-key: proxy-token-123\r\nx-api-key: proxy-token-123\r\n")]
    [TestCase("Proxy-Authorization: Bearer proxy-token-123\r\n")]
    public void MissingWrongOrRepeatedToken_IsRefused(string fields) =>
        Assert.That(Authenticate(Token, fields), Is.Null);

    [TestCase("")]
    [TestCase("Authorization: Bearer anything\r\n")]
    public void NoConfiguredToken_LetsEveryoneInAsTheDefaultClient(string fields) =>
        Assert.That(Authenticate(null, fields), Is.SameAs(TokenAuthentication.OpenClient));
}
