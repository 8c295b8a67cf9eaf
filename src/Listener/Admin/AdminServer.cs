using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener.Admin;

/// <summary>
/// The admin listener (README.md#usage-and-metrics): a small HTTP/1.1 server on a port of its own
/// (<c>PROXY_ADMIN_LISTEN</c>), apart from the API port, for monitors and the operator: <c>/healthz</c>,
/// <c>/readyz</c>, <c>/metrics</c>, <c>/usage</c>, <c>/status</c> and the dashboard at <c>/</c>. It reads the proxy
/// through <see cref="AdminSources"/> only, and shares nothing with the request path: its connections, its parser
/// limits and its timeouts are its own, so a client of one port can never starve the other.
/// </summary>
/// <remarks>
/// Bounded throughout: at most <see cref="MaxConnections"/> connections (more are closed at once, unread), each
/// bounded by <see cref="AdminConnection"/>. GET and HEAD only; every answer has a Content-Length.
/// </remarks>
public sealed class AdminServer : IAsyncDisposable
{
    /// <summary>Connections open at once: a few browser tabs, a scraper, a health check, with room to spare.</summary>
    public const int MaxConnections = 32;

    /// <summary>Time for a head to arrive complete, counted from the wait for it (<see cref="HeadTimeout"/>).</summary>
    public static readonly TimeSpan DefaultHeadTimeout = TimeSpan.FromSeconds(10);

    private readonly IPEndPoint _endPoint;
    private readonly ConcurrentDictionary<AdminConnection, Task> _connections = new();
    private TcpListener? _listener;
    private IPEndPoint? _localEndPoint;
    private Task _accepting = Task.CompletedTask;
    private int _connectionCount;
    private int _stopped;

    /// <param name="options">Where to listen (<see cref="ProxyOptions.AdminListen"/>, which must not be off), and who may read what.</param>
    /// <param name="sources">What the endpoints read.</param>
    public AdminServer(ProxyOptions options, AdminSources sources, ILogger logger, TimeProvider? time = null)
    {
        _endPoint = options.AdminListen ?? throw new ArgumentException("PROXY_ADMIN_LISTEN is off", nameof(options));
        Time = time ?? TimeProvider.System;
        Logger = logger;
        Date = new DateHeader(Time);
        var access = new AdminAccess(options.AdminToken, IPAddress.IsLoopback(_endPoint.Address), options.AdminMetricsOpen);
        Responder = new AdminResponder(sources, access, Time, logger);
    }

    /// <summary>The bound address (with the real port when <c>PROXY_ADMIN_LISTEN</c> asked for port 0).</summary>
    public IPEndPoint LocalEndPoint => _localEndPoint ?? throw new InvalidOperationException("not started");

    /// <summary>Admin connections open now.</summary>
    internal int ConnectionCount => Volatile.Read(ref _connectionCount);

    /// <summary>How long a head may take to arrive whole; <see cref="DefaultHeadTimeout"/> unless a test shortens it.</summary>
    internal TimeSpan HeadTimeout { get; init; } = DefaultHeadTimeout;

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal DateHeader Date { get; }

    internal AdminResponder Responder { get; }

    internal bool Stopping => Volatile.Read(ref _stopped) != 0;

    /// <summary>Binds the address and starts accepting; throws <see cref="SocketException"/> when the address cannot be bound.</summary>
    public void Start()
    {
        var listener = ListeningSocket.Start(_endPoint, backlog: MaxConnections);
        _listener = listener;
        _localEndPoint = (IPEndPoint)listener.LocalEndpoint;
        _accepting = AcceptLoopAsync(listener);
        AdminLog.Listening(Logger, _localEndPoint);
    }

    private async Task AcceptLoopAsync(TcpListener listener)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException || Stopping)
            {
                // Stopped (see ProxyServer's accept loop for the exceptions a stopped TcpListener throws).
                return;
            }
            catch (SocketException)
            {
                // Out of descriptors or a connection reset while queued: keep accepting, after a breath.
                await Task.Delay(TimeSpan.FromMilliseconds(10), Time).ConfigureAwait(false);
                continue;
            }

            if (Interlocked.Increment(ref _connectionCount) > MaxConnections)
            {
                Interlocked.Decrement(ref _connectionCount);
                AdminLog.ConnectionLimit(Logger, MaxConnections, socket.RemoteEndPoint?.ToString() ?? "unknown");
                socket.Dispose();
                continue;
            }

            try
            {
                socket.NoDelay = true;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Reset between accept and setup: one connection lost, never the accept loop.
                Interlocked.Decrement(ref _connectionCount);
                socket.Dispose();
                continue;
            }

            var connection = new AdminConnection(socket, this);
            var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _connections[connection] = running.Task;
            _ = RunConnectionAsync(connection, running);
        }
    }

    private async Task RunConnectionAsync(AdminConnection connection, TaskCompletionSource running)
    {
        try
        {
            // Off the accept loop at once: a connection's first read must not delay the next accept.
            await Task.Yield();
            if (Stopping)
            {
                connection.Abort();
            }
            else
            {
                await connection.RunAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            Interlocked.Decrement(ref _connectionCount);
            running.SetResult();
        }
    }

    /// <summary>Stops accepting and closes every open admin connection, an answer under way included; waits for them to end.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _listener?.Dispose();
        await _accepting.ConfigureAwait(false);
        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }

        await Task.WhenAll(_connections.Values).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
