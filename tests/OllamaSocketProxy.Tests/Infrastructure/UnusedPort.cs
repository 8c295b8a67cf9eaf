using System.Net;
using System.Net.Sockets;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>A loopback port that nothing listens on (bound once by the OS, then released), for refused-connection tests.</summary>
public static class UnusedPort
{
    public static int Find()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
