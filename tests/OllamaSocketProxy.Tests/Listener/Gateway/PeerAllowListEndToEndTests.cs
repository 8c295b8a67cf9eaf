using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// <c>PROXY_ALLOW_CIDRS</c> through the real proxy (README.md#configuration): a peer outside the ranges is closed at
/// accept, before a byte is read or written; a peer inside is served as usual.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class PeerAllowListEndToEndTests
{
    [TestCase("10.0.0.0/8")]
    [TestCase("192.168.1.0/24, ::1/128")]
    [TestCase("127.0.0.2")]
    public async Task PeerOutsideTheRanges_IsClosedAtAcceptWithoutAByte(string ranges)
    {
        await using var gateway = await GatewayHarness.StartAsync(
            null, [], variables: new Dictionary<string, string?> { ["PROXY_ALLOW_CIDRS"] = ranges });
        var client = await gateway.ConnectAsync();

        // Nothing is sent: a served connection would wait for a request, so only the proxy's close ends this read.
        var received = await client.ReadUntilClosedAsync();

        Assert.That(received, Is.Empty);
        Assert.That(gateway.Origin.AcceptedConnections, Is.Zero);
    }

    [TestCase("10.0.0.0/8")]
    public async Task PeerOutsideTheRanges_SendingARequestGetsNoAnswer(string ranges)
    {
        await using var gateway = await GatewayHarness.StartAsync(
            null, [], variables: new Dictionary<string, string?> { ["PROXY_ALLOW_CIDRS"] = ranges });
        var client = await gateway.ConnectAsync();

        try
        {
            await client.SendAsync(gateway.Get(null, "/api/tags"));
        }
        catch (IOException)
        {
            // The proxy may have closed the connection before the request went out.
        }

        Assert.That(await client.TryReadResponseAsync(), Is.Null);
        Assert.That(gateway.Origin.Requests, Is.Empty);
    }

    [TestCase("127.0.0.0/8")]
    [TestCase("10.0.0.0/8, 127.0.0.1")]
    [TestCase("::ffff:127.0.0.1")]
    public async Task PeerInsideTheRanges_IsServed(string ranges)
    {
        await using var gateway = await GatewayHarness.StartAsync(
            null, [], variables: new Dictionary<string, string?> { ["PROXY_ALLOW_CIDRS"] = ranges });

        var response = await gateway.SendAsync(gateway.Get(null, "/api/tags"));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(gateway.Origin.Requests.Single().Target, Is.EqualTo("/api/tags"));
    }
}
