using Microsoft.Extensions.Time.Testing;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also tells a test when the proxy arms a deadline. Time passes only on
/// <see cref="FakeTimeProvider.Advance"/>, and a deadline is measured from the moment it is armed; so a test first
/// awaits the arming it means to pass (<see cref="WaitForArmedAsync"/>, an event), then advances. It never advances
/// into a deadline the proxy has not set yet, and never sleeps.
/// </summary>
public sealed class ObservedClock : FakeTimeProvider
{
    private readonly Lock sync = new();
    private readonly List<ObservedTimer> timers = [];
    private TaskCompletionSource changed = NewSignal();

    public ObservedClock()
        : base(DateTimeOffset.UtcNow)
    {
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ObservedTimer(this);

        // Marked before the callback runs: a callback that re-arms its own timer leaves it armed.
        timer.Inner = base.CreateTimer(
            callbackState =>
            {
                timer.OnFired(period);
                callback(callbackState);
            },
            state,
            dueTime,
            period);
        timer.OnArmed(dueTime);
        lock (sync)
        {
            timers.Add(timer);
        }

        Changed();
        return timer;
    }

    /// <summary>
    /// Waits until a timer is armed, at the current fake time, to fire after exactly <paramref name="dueTime"/>, and
    /// has not fired since: advancing the clock by <paramref name="dueTime"/> then passes that deadline.
    /// </summary>
    public async Task WaitForArmedAsync(TimeSpan dueTime)
    {
        using var timeout = EventTimeout.NewSource();
        while (true)
        {
            var signal = Volatile.Read(ref changed).Task;
            if (IsArmed(dueTime))
            {
                return;
            }

            try
            {
                await signal.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException(
                    $"No timer was armed for {dueTime} at fake time {GetUtcNow():O} within {EventTimeout.Limit.TotalSeconds} s; armed now: {Describe()}");
            }
        }
    }

    private bool IsArmed(TimeSpan dueTime)
    {
        var now = GetUtcNow();
        lock (sync)
        {
            return timers.Any(timer => timer.IsPending && timer.DueTime == dueTime && timer.ArmedAt == now);
        }
    }

    private string Describe()
    {
        lock (sync)
        {
            var pending = timers.Where(timer => timer.IsPending).Select(timer => $"{timer.DueTime} at {timer.ArmedAt:O}").ToList();
            return pending.Count == 0 ? "none" : string.Join("; ", pending);
        }
    }

    private void Changed() => Interlocked.Exchange(ref changed, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>One timer the proxy created; its state is recorded after the fake timer took each change.</summary>
    private sealed class ObservedTimer(ObservedClock clock) : ITimer
    {
        private bool fired;
        private bool disposed;

        public ITimer Inner { get; set; } = null!;

        public TimeSpan DueTime { get; private set; } = Timeout.InfiniteTimeSpan;

        public DateTimeOffset ArmedAt { get; private set; }

        public bool IsPending
        {
            get
            {
                lock (clock.sync)
                {
                    return !fired && !disposed && DueTime != Timeout.InfiniteTimeSpan;
                }
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            // The fake timer first, the record second: a test that saw the record advances a clock the timer already uses.
            var changedInner = Inner.Change(dueTime, period);
            OnArmed(dueTime);
            clock.Changed();
            return changedInner;
        }

        public void OnArmed(TimeSpan dueTime)
        {
            // Read outside the lock: the fake clock may hold its own lock while it runs timer callbacks.
            var now = clock.GetUtcNow();
            lock (clock.sync)
            {
                DueTime = dueTime;
                ArmedAt = now;
                fired = false;
            }
        }

        public void OnFired(TimeSpan period)
        {
            if (period != Timeout.InfiniteTimeSpan && period != TimeSpan.Zero)
            {
                return;
            }

            lock (clock.sync)
            {
                fired = true;
            }

            clock.Changed();
        }

        public void Dispose()
        {
            Inner.Dispose();
            MarkDisposed();
        }

        public async ValueTask DisposeAsync()
        {
            await Inner.DisposeAsync();
            MarkDisposed();
        }

        private void MarkDisposed()
        {
            lock (clock.sync)
            {
                disposed = true;
            }

            clock.Changed();
        }
    }
}
