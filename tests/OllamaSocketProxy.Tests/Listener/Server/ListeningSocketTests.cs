using System.Net;
using System.Net.Sockets;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Server;

/// <summary>Both listeners' sockets: a port is this process's alone, and free again as soon as it is closed.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ListeningSocketTests
{
    [Test]
    public void APortSomeoneListensOn_CannotBeBoundASecondTime()
    {
        using var first = ListeningSocket.Start(new IPEndPoint(IPAddress.Loopback, 0), backlog: 4);
        var port = ((IPEndPoint)first.LocalEndpoint).Port;

        var error = Assert.Throws<SocketException>(() => ListeningSocket.Start(new IPEndPoint(IPAddress.Loopback, port), backlog: 4));

        Assert.That(error!.SocketErrorCode, Is.EqualTo(SocketError.AddressAlreadyInUse));
    }

    [Test]
    public async Task APortWhoseConnectionsTheServerClosed_CanBeBoundAgainAtOnce()
    {
        var first = ListeningSocket.Start(new IPEndPoint(IPAddress.Loopback, 0), backlog: 4);
        var endPoint = (IPEndPoint)first.LocalEndpoint;
        using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            using var timeout = EventTimeout.NewSource();
            await client.ConnectAsync(endPoint, timeout.Token);
            using (var accepted = await first.AcceptSocketAsync(timeout.Token))
            {
                // The server closes first: its side of the connection waits in TIME_WAIT, on the listening port.
                accepted.Shutdown(SocketShutdown.Both);
            }

            Assert.That(await client.ReceiveAsync(new byte[1], SocketFlags.None, timeout.Token), Is.Zero);
        }

        first.Dispose();

        using var second = ListeningSocket.Start(endPoint, backlog: 4);
        Assert.That(((IPEndPoint)second.LocalEndpoint).Port, Is.EqualTo(endPoint.Port));
    }
}
