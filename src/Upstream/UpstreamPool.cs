namespace OllamaSocketProxy.Upstream;

/// <summary>
/// Reusable upstream connections, shared by every client connection. Last in, first out, so the warmest
/// connection carries the next request and the coldest ones age out. The lock guards only the stack (no
/// allocation per return, unlike a ConcurrentStack node); it is never held across I/O.
/// </summary>
public sealed class UpstreamPool : IAsyncDisposable
{
    private readonly UpstreamConnector _connector;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _idleTimeout;
    private readonly int _prewarm;
    private readonly Stack<UpstreamConnection> _idle = new();
    private readonly ITimer _sweeper;
    private readonly CancellationTokenSource _disposing = new();
    private int _warming;

    public UpstreamPool(UpstreamConnector connector, TimeSpan idleTimeout, int prewarm, TimeProvider timeProvider)
    {
        _connector = connector;
        _idleTimeout = idleTimeout;
        _prewarm = prewarm;
        _timeProvider = timeProvider;
        var period = TimeSpan.FromTicks(Math.Max(idleTimeout.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks));
        _sweeper = timeProvider.CreateTimer(static state => ((UpstreamPool)state!).Sweep(), this, period, period);
    }

    public int IdleCount
    {
        get
        {
            lock (_idle)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>An idle connection that still looks open, else a new one.</summary>
    public ValueTask<UpstreamConnection> RentAsync(CancellationToken cancellationToken)
    {
        while (TryPop(out var connection))
        {
            if (IsExpired(connection) || connection.ClosedWhileIdle)
            {
                _ = connection.DisposeAsync();
                continue;
            }

            connection.FromPool = true;
            return ValueTask.FromResult(connection);
        }

        return _connector.ConnectAsync(cancellationToken);
    }

    /// <summary>A new connection, never a pooled one: for the one retry after a pooled connection failed.</summary>
    public ValueTask<UpstreamConnection> ConnectAsync(CancellationToken cancellationToken) =>
        _connector.ConnectAsync(cancellationToken);

    /// <summary>Takes back a connection whose last response was read completely.</summary>
    public void Return(UpstreamConnection connection) => Return(connection, keepTimestamp: false);

    private void Return(UpstreamConnection connection, bool keepTimestamp)
    {
        if (!keepTimestamp)
        {
            connection.LastUsed = _timeProvider.GetTimestamp();
            connection.WatchWhileIdle();
        }

        lock (_idle)
        {
            // Checked under the lock, so a connection cannot slip in after DisposeAsync emptied the stack.
            if (!_disposing.IsCancellationRequested)
            {
                _idle.Push(connection);
                return;
            }
        }

        _ = connection.DisposeAsync();
    }

    private bool TryPop(out UpstreamConnection connection)
    {
        lock (_idle)
        {
            return _idle.TryPop(out connection!);
        }
    }

    /// <summary>Opens connections until <c>PROXY_UPSTREAM_PREWARM</c> are idle.</summary>
    public void Prewarm()
    {
        if (_prewarm == 0 || Interlocked.Exchange(ref _warming, 1) != 0)
        {
            return;
        }

        _ = WarmAsync();
    }

    private async Task WarmAsync()
    {
        try
        {
            // The shortfall seen now, not a chase of IdleCount: requests taking connections meanwhile are served
            // on demand, and the next sweep tops the pool up again.
            for (var missing = _prewarm - IdleCount; missing > 0 && !_disposing.IsCancellationRequested; missing--)
            {
                var connection = await _connector.ConnectAsync(_disposing.Token).ConfigureAwait(false);
                Return(connection);
            }
        }
        catch (Exception e) when (e is UpstreamConnectException or OperationCanceledException)
        {
            // The next sweep tries again; a request that needs a connection meanwhile makes its own.
        }
        finally
        {
            Volatile.Write(ref _warming, 0);
        }
    }

    private bool IsExpired(UpstreamConnection connection) =>
        _timeProvider.GetElapsedTime(connection.LastUsed) >= _idleTimeout;

    /// <summary>Closes connections idle longer than the timeout, then tops the pool up to the prewarm count.</summary>
    private void Sweep()
    {
        UpstreamConnection[] snapshot;
        lock (_idle)
        {
            snapshot = _idle.ToArray();
            _idle.Clear();
        }

        // ToArray lists the top (most recently used) first: push back oldest first to keep the order.
        for (var i = snapshot.Length - 1; i >= 0; i--)
        {
            var connection = snapshot[i];
            if (IsExpired(connection) || connection.ClosedWhileIdle)
            {
                _ = connection.DisposeAsync();
            }
            else
            {
                Return(connection, keepTimestamp: true);
            }
        }

        Prewarm();
    }

    public async ValueTask DisposeAsync()
    {
        lock (_idle)
        {
            _disposing.Cancel();
        }

        await _sweeper.DisposeAsync().ConfigureAwait(false);
        while (TryPop(out var connection))
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        _disposing.Dispose();
    }
}
