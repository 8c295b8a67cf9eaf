using System.Net;
using System.Net.Sockets;

namespace OllamaSocketProxy.Listener;

/// <summary>Binds a listening socket, the same way for the API port and the admin port.</summary>
internal static class ListeningSocket
{
    /// <summary>Binds <paramref name="endPoint"/> and starts listening; throws <see cref="SocketException"/> when it cannot be bound.</summary>
    public static TcpListener Start(IPEndPoint endPoint, int backlog)
    {
        var listener = new TcpListener(endPoint);
        try
        {
            if (endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                // [::] takes IPv4 clients as well, as nginx's "listen [::]:port ipv6only=off" does.
                listener.Server.DualMode = true;
            }

            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start(backlog);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }
}
