using System.Net;
using System.Net.Sockets;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// A TCP listener on 127.0.0.1 that accepts connections and never sends a byte unless told: an upstream that takes the
/// TCP handshake but never answers the TLS one, or an idle one that closes or writes when a test says so. Bounded in
/// connections; every socket is closed on dispose.
/// </summary>
public sealed class SilentListener : IAsyncDisposable
{
    private const int MaxConnections = 16;

    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stopping = new();
    private readonly List<Socket> accepted = [];
    private readonly Task accepting;
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SilentListener()
    {
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        accepting = AcceptAsync();
    }

    public int Port { get; }

    public int AcceptedConnections
    {
        get
        {
            lock (accepted)
            {
                return accepted.Count;
            }
        }
    }

    /// <summary>Waits until <paramref name="count"/> connections were accepted.</summary>
    public async Task WaitForAcceptedAsync(int count)
    {
        using var timeout = EventTimeout.NewSource();
        while (true)
        {
            var signal = Volatile.Read(ref changed).Task;
            if (AcceptedConnections >= count)
            {
                return;
            }

            try
            {
                await signal.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"The silent listener never accepted {count} connection(s) within {EventTimeout.Limit.TotalSeconds} s.");
            }
        }
    }

    /// <summary>Whether the peer closed the <paramref name="index"/>-th connection (0 first): end of stream or reset on read.</summary>
    public async Task<bool> ClosedByPeerAsync(int index)
    {
        await WaitForAcceptedAsync(index + 1);
        using var timeout = EventTimeout.NewSource();
        try
        {
            return await Accepted(index).ReceiveAsync(new byte[1], SocketFlags.None, timeout.Token) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Closes the <paramref name="index"/>-th connection from this side (FIN).</summary>
    public async Task CloseAsync(int index)
    {
        await WaitForAcceptedAsync(index + 1);
        Accepted(index).Shutdown(SocketShutdown.Send);
    }

    /// <summary>Writes <paramref name="bytes"/> on the <paramref name="index"/>-th connection, unasked.</summary>
    public async Task SendAsync(int index, byte[] bytes)
    {
        await WaitForAcceptedAsync(index + 1);
        using var timeout = EventTimeout.NewSource();
        await Accepted(index).SendAsync(bytes, SocketFlags.None, timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        try
        {
            await accepting.WaitAsync(EventTimeout.Limit);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        lock (accepted)
        {
            foreach (var socket in accepted)
            {
                socket.Dispose();
            }
        }

        stopping.Dispose();
    }

    private Socket Accepted(int index)
    {
        lock (accepted)
        {
            return accepted[index];
        }
    }

    private async Task AcceptAsync()
    {
        while (AcceptedConnections < MaxConnections)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (accepted)
            {
                accepted.Add(socket);
            }

            Interlocked.Exchange(ref changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }
}
