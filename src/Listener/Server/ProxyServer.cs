using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Upstream;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// The proxy: an accept loop on <see cref="ProxyOptions.Listen"/>, one <see cref="ClientConnection"/> per socket; and,
/// unless it is off, the admin listener on <see cref="ProxyOptions.AdminListen"/> (<see cref="Admin.AdminServer"/>).
/// </summary>
public sealed partial class ProxyServer : IAsyncDisposable
{
    private readonly ProxyOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ProxyContext _context;
    private readonly UpstreamPool _pool;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly ConcurrentDictionary<ClientConnection, Task> _connections = new();
    private TcpListener? _listener;
    private IPEndPoint? _localEndPoint;
    private Task _accepting = Task.CompletedTask;
    private readonly ITimer _idleTrim;
    private int _connectionCount;
    private int _stopped;

    /// <summary>
    /// Socket completions run their continuations on the socket engine's own threads instead of hopping through the
    /// thread pool: with the request loop's inline pipe schedulers, a request goes from epoll to the upstream write
    /// without a queue in between (bench/run.sh: CPU per request on new connections fell by about a third). The
    /// runtime reads this once, at the first socket, so this must run before any; an operator's own setting wins.
    /// </summary>
    public static void PreferInlineSocketCompletions()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
        {
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        }
    }

    public ProxyServer(ProxyOptions options, ILoggerFactory loggerFactory, TimeProvider? timeProvider = null)
        : this(options, loggerFactory, timeProvider, [])
    {
    }

    /// <param name="policies">The request policies, in the order they are asked (docs/ARCHITECTURE.md#policies).</param>
    internal ProxyServer(ProxyOptions options, ILoggerFactory loggerFactory, TimeProvider? timeProvider, IReadOnlyList<RequestPolicy> policies)
    {
        _options = options;
        _timeProvider = timeProvider ?? TimeProvider.System;
        var connector = new UpstreamConnector(
            UpstreamEndpoint.FromUri(options.UpstreamUrl), options.UpstreamCaCertificates, options.UpstreamConnectTimeout, _timeProvider);
        _pool = new UpstreamPool(connector, options.UpstreamPoolIdleTimeout, options.UpstreamPrewarm, _timeProvider);
        _context = new ProxyContext(
            options, _pool, policies, loggerFactory, _timeProvider, _shutdown.Token,
            clientConnections: () => ConnectionCount, busyUpstreamConnections: () => CountRequests().Busy);
        _admin = CreateAdmin(loggerFactory);

        _idleTrim = _timeProvider.CreateTimer(static _ => TrimMemory(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The bound address (with the real port when <c>PROXY_LISTEN</c> asked for port 0).</summary>
    public IPEndPoint LocalEndPoint => _localEndPoint ?? throw new InvalidOperationException("not started");

    /// <summary>Client connections open now.</summary>
    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    /// <summary>Upstream connections waiting in the pool.</summary>
    public int IdleUpstreamConnections => _pool.IdleCount;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var listener = ListeningSocket.Start(_options.Listen, backlog: 1024);
        _listener = listener;
        _localEndPoint = (IPEndPoint)listener.LocalEndpoint;
        _accepting = AcceptLoopAsync(listener);
        _pool.Prewarm();
        _context.Clients.StartWatching();

        ProxyLog.Listening(_context.Log, LocalEndPoint, _options.UpstreamUrl.GetLeftPart(UriPartial.Authority));
        if (_options.ListensBeyondLoopback && _context.Clients.Current.IsOpen)
        {
            ProxyLog.OpenBeyondLoopback(_context.Log, LocalEndPoint);
        }

        StartAdmin();
        return Task.CompletedTask;
    }

    private async Task AcceptLoopAsync(TcpListener listener)
    {
        while (true)
        {
            Socket socket;
            try
            {
                // The ValueTask overload: AcceptSocketAsync() would wrap each accept in a Task.
                socket = await listener.AcceptSocketAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ObjectDisposedException || Volatile.Read(ref _stopped) != 0)
            {
                // Stopped. TcpListener.Stop does not synchronize with AcceptSocketAsync: an accept under way fails with
                // SocketException, a later one with InvalidOperationException, or, when Stop runs between the
                // listener's check and its use of the socket, ObjectDisposedException or NullReferenceException.
                return;
            }
            catch (SocketException)
            {
                // Out of descriptors or a connection reset while queued: keep accepting, after a breath.
                await Task.Delay(TimeSpan.FromMilliseconds(10), _timeProvider).ConfigureAwait(false);
                continue;
            }

            if (_options.AllowCidrs is { } allowed && !(socket.RemoteEndPoint is IPEndPoint peer && allowed.Allows(peer.Address)))
            {
                // PROXY_ALLOW_CIDRS: a peer outside the allowed ranges is closed at once, with nothing read or written.
                socket.Dispose();
                continue;
            }

            if (Interlocked.Increment(ref _connectionCount) > _options.MaxConnections)
            {
                Interlocked.Decrement(ref _connectionCount);
                ProxyLog.ConnectionLimit(_context.Log, _options.MaxConnections, socket.RemoteEndPoint?.ToString() ?? "unknown");
                _ = RefuseAsync(socket);
                continue;
            }

            ClientConnection connection;
            try
            {
                socket.NoDelay = true;
                connection = new ClientConnection(socket, _context);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Reset between accept and setup: one connection lost, never the accept loop.
                Interlocked.Decrement(ref _connectionCount);
                socket.Dispose();
                continue;
            }

            var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _connections[connection] = running.Task;

            // The connection's first steps run here, up to its first wait: it never blocks, and a hop through the
            // thread pool per connection cost a thread wake-up (with inline socket completions, Program.cs, every
            // continuation runs on the socket engine's threads anyway). As nginx does: accept, then serve.
            _ = RunConnectionAsync(connection, running);
        }
    }

    private async Task RunConnectionAsync(ClientConnection connection, TaskCompletionSource running)
    {
        try
        {
            if (Volatile.Read(ref _stopped) != 0)
            {
                connection.BeginStop();
            }

            await connection.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            if (Interlocked.Decrement(ref _connectionCount) == 0)
            {
                _idleTrim.Change(IdleTrimDelay, Timeout.InfiniteTimeSpan);
            }

            running.SetResult();
        }
    }

    /// <summary>How long the proxy must have had no connection before it gives memory back to the system.</summary>
    private static readonly TimeSpan IdleTrimDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Once no connection is left, a compacting collection returns what start-up and the last burst of traffic
    /// left behind to the system: an edge box gets its memory back between uses. A new connection re-arms
    /// nothing; the collection runs only after <see cref="IdleTrimDelay"/> with none at all.
    /// </summary>
    private static void TrimMemory()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>Beyond the connection limit: a 503 and a close, never a hang (docs/BEHAVIOUR.md#connections).</summary>
    private async Task RefuseAsync(Socket socket)
    {
        // Written for each refusal, for its Date: a rare path, where the allocation does not matter.
        var refusal = new ArrayBufferWriter<byte>(256);
        LocalResponse.WriteRejection(refusal, RequestRejection.TooManyConnections, _context.Date.FieldLine);
        try
        {
            await socket.SendAsync(refusal.WrittenMemory, SocketFlags.None).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // The client left first.
        }
        finally
        {
            socket.Dispose();
        }
    }

    /// <summary>Stops accepting, lets running requests finish until <paramref name="cancellationToken"/> fires, then aborts the rest.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _listener?.Dispose();
        await _accepting.ConfigureAwait(false);

        ProxyLog.Stopping(_context.Log, _connections.Count, _options.ShutdownTimeout);
        foreach (var connection in _connections.Keys)
        {
            connection.BeginStop();
        }

        try
        {
            await Task.WhenAll(_connections.Values).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            ProxyLog.AbortingAtShutdown(_context.Log, _connections.Count);
            await _shutdown.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(_connections.Values).ConfigureAwait(false);
        }

        // The admin listener answers until the last request ended: through the grace period /readyz says 503 and
        // /metrics still shows the requests that finish.
        if (_admin is not null)
        {
            await _admin.StopAsync().ConfigureAwait(false);
        }

        await _idleTrim.DisposeAsync().ConfigureAwait(false);
        await _pool.DisposeAsync().ConfigureAwait(false);
        _context.Clients.Dispose();

        // After the last request ended: its usage is in the last flush.
        await _context.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        using var immediately = new CancellationTokenSource();
        await immediately.CancelAsync().ConfigureAwait(false);
        await StopAsync(immediately.Token).ConfigureAwait(false);
        _shutdown.Dispose();
    }
}
