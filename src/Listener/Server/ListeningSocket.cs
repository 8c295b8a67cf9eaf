using System.Net;
using System.Net.Sockets;

namespace OllamaSocketProxy.Listener;

/// <summary>Binds a listening socket, the same way for the API port and the admin port.</summary>
internal static class ListeningSocket
{
    /// <summary>
    /// Binds <paramref name="endPoint"/> and starts listening; throws <see cref="SocketException"/> when it cannot be
    /// bound, another process listening there included.
    /// </summary>
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

            // Not SocketOptionName.ReuseAddress: on Linux and macOS it sets SO_REUSEPORT as well as SO_REUSEADDR, and a
            // second process (a second proxy started by mistake, any program of the same user) could then bind this
            // port beside it and silently take a share of its connections. SO_REUSEADDR alone, which lets a restarted
            // proxy bind at once over the connections it closed (TIME_WAIT), .NET sets on every TCP socket by itself.
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
