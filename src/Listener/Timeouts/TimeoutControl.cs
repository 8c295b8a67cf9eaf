namespace OllamaSocketProxy.Listener;

/// <summary>Why the connection's token fired.</summary>
internal enum CancelCause
{
    None,

    /// <summary>The current phase's deadline passed.</summary>
    Timeout,

    /// <summary>The client closed or reset its connection.</summary>
    ClientGone,

    /// <summary>The host stopped and the shutdown grace period is over.</summary>
    Shutdown,
}

/// <summary>
/// The one cancellation of a connection (docs/ARCHITECTURE.md#timeouts): <see cref="Token"/> fires when the client
/// goes away, when the host stops for good, or when the deadline of the current phase passes. Every deadline is armed
/// together with the <see cref="TimeoutReason"/> it guards, so what its expiry means is never guessed from where it
/// was caught: <see cref="TimeoutOutcomes.For"/> maps the phase to its outcome. The deadline is a fixed time, an idle
/// time re-armed on every read, or a minimum data rate (Kestrel's <c>TimeoutControl</c> with <c>TimeoutReason</c>).
/// Writes to the client use <see cref="WriteToken"/>, which ignores the client's FIN: a client that half-closed
/// still gets its answer.
/// </summary>
internal sealed class TimeoutControl : IDisposable
{
    private readonly CancellationTokenSource _deadline;
    private readonly CancellationTokenSource _source;
    private readonly TimeProvider _timeProvider;
    private readonly CancellationToken _clientGone;
    private readonly CancellationTokenRegistration _shutdown;
    private volatile bool _shuttingDown;
    private TimeSpan _idle;
    private double _bytesPerSecond;
    private TimeSpan _grace;
    private long _phaseStart;

    public TimeoutControl(TimeProvider timeProvider, CancellationToken clientGone, CancellationToken shutdown)
    {
        _timeProvider = timeProvider;
        _clientGone = clientGone;
        _deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
        _shutdown = shutdown.UnsafeRegister(static state => ((TimeoutControl)state!).Shutdown(), this);
        _source = CancellationTokenSource.CreateLinkedTokenSource(_deadline.Token, clientGone);
    }

    /// <summary>Fires on a deadline, on shutdown, or when the client closed or reset its side.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>Fires on a deadline or on shutdown, not on the client's FIN.</summary>
    public CancellationToken WriteToken => _deadline.Token;

    /// <summary>The phase whose deadline is armed now.</summary>
    public TimeoutReason Phase { get; private set; }

    /// <summary>Why <see cref="Token"/> fired.</summary>
    public CancelCause Cause => _clientGone.IsCancellationRequested ? CancelCause.ClientGone
        : _shuttingDown ? CancelCause.Shutdown
        : _deadline.IsCancellationRequested ? CancelCause.Timeout
        : CancelCause.None;

    /// <summary>What the client gets now that <see cref="Token"/> fired in the current phase.</summary>
    public TimeoutOutcome Outcome => TimeoutOutcomes.For(Phase, Cause);

    private void Shutdown()
    {
        _shuttingDown = true;
        _deadline.Cancel();
    }

    /// <summary><paramref name="phase"/> must end within <paramref name="timeout"/>.</summary>
    public void Arm(TimeoutReason phase, TimeSpan timeout)
    {
        Phase = phase;
        _idle = Timeout.InfiniteTimeSpan;
        _bytesPerSecond = 0;
        _deadline.CancelAfter(timeout);
    }

    /// <summary>Every read of <paramref name="phase"/> must complete within <paramref name="idle"/>; see <see cref="Rearm"/>.</summary>
    public void ArmIdle(TimeoutReason phase, TimeSpan idle)
    {
        Phase = phase;
        _idle = idle;
        _bytesPerSecond = 0;
        _deadline.CancelAfter(idle);
    }

    /// <summary>
    /// After <paramref name="grace"/>, the bytes received in <paramref name="phase"/> must keep up with
    /// <paramref name="bytesPerSecond"/> (Kestrel's MinRequestBodyDataRate): a body that trickles in is cut, one that
    /// flows is never.
    /// </summary>
    public void ArmRate(TimeoutReason phase, double bytesPerSecond, TimeSpan grace)
    {
        Phase = phase;
        _idle = Timeout.InfiniteTimeSpan;
        _bytesPerSecond = bytesPerSecond;
        _grace = grace;
        _phaseStart = _timeProvider.GetTimestamp();
        _deadline.CancelAfter(bytesPerSecond > 0 ? grace + TimeSpan.FromSeconds(1 / bytesPerSecond) : Timeout.InfiniteTimeSpan);
    }

    /// <summary>Re-arms the current phase's deadline before a read, given the bytes the phase has moved so far.</summary>
    public void Rearm(long bytesSoFar)
    {
        if (_bytesPerSecond > 0)
        {
            // The next byte is due when the bytes so far no longer cover the minimum rate since the grace ended.
            var due = _grace + TimeSpan.FromSeconds((bytesSoFar + 1) / _bytesPerSecond);
            var left = due - _timeProvider.GetElapsedTime(_phaseStart);
            _deadline.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }
        else if (_idle != Timeout.InfiniteTimeSpan)
        {
            _deadline.CancelAfter(_idle);
        }
    }

    public void Dispose()
    {
        _shutdown.Dispose();
        _source.Dispose();
        _deadline.Dispose();
    }
}
