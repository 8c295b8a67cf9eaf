using System.Net;
using System.Net.Sockets;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Server;

/// <summary>The listening socket that <c>PROXY_LISTEN</c> names.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ListenTests
{
    [Test]
    public async Task ListenOnIPv6AnyPortZero_ServesIPv4AndIPv6ClientsOnTheReportedPort()
    {
        Assume.That(CanBindIPv6Loopback(), "This machine has no IPv6 loopback.");
        await using var proxy = await ProxyHarness.StartAsync(
            TestUpstream.StartTls(), new Dictionary<string, string?> { ["PROXY_LISTEN"] = "[::]:0" });
        var port = proxy.EndPoint.Port;

        var overIPv4 = await GetRootAsync(proxy, new IPEndPoint(IPAddress.Loopback, port));
        var overIPv6 = await GetRootAsync(proxy, new IPEndPoint(IPAddress.IPv6Loopback, port));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(port, Is.Not.Zero);
            Assert.That(overIPv4.StatusCode, Is.EqualTo(200), overIPv4.Describe());
            Assert.That(overIPv6.StatusCode, Is.EqualTo(200), overIPv6.Describe());
        }
    }

    private static async Task<RawResponse> GetRootAsync(ProxyHarness proxy, IPEndPoint endPoint)
    {
        await using var client = await RawClient.ConnectAsync(endPoint);
        await client.SendAsync(proxy.Get("/"));
        return await client.ReadResponseAsync();
    }

    private static bool CanBindIPv6Loopback()
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
