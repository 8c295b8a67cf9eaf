using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// Takes finished requests off the request path to the usage store. <see cref="TryRecord"/> puts a record in a
/// bounded queue and returns at once; a full queue drops the record and counts it (<see cref="DroppedCount"/>). A
/// thread of the recorder's own sums the queue into hourly rows in memory and writes them in one transaction every
/// flush interval, when asked (<see cref="FlushAsync"/>) and on <see cref="DisposeAsync"/>.
/// </summary>
/// <remarks>
/// <para>
/// What a crash costs: the sums since the last flush are in memory only, so a <c>kill -9</c> loses at most the
/// requests of the last flush interval (5 seconds by default). A committed flush survives the process being killed;
/// only a power cut can take the last commits with it (WAL with synchronous=NORMAL, see <see cref="UsageStore"/>).
/// </para>
/// <para>
/// A store that fails (locked by another writer, disk full, read-only, corrupt, written by a newer release) never
/// reaches the caller and never slows it: the sums stay in memory (up to <see cref="MaxPendingRows"/> rows) and are
/// tried again at every flush. Each failed attempt counts in <see cref="ErrorCount"/>; the failure is logged once
/// when it starts and once when a write succeeds again.
/// </para>
/// </remarks>
public sealed class UsageRecorder : IAsyncDisposable
{
    public const int DefaultQueueCapacity = 8192;

    /// <summary>
    /// Queued records that wake the writer by default. A record is about a hundred bytes: summed every 256 requests,
    /// the records on their way stay within a few dozen kilobytes, where half the queue (half a megabyte) would stream
    /// through the caches the requests run in. The writer then wakes once per 256 requests: a hundred times a second
    /// at 25,600 requests per second.
    /// </summary>
    public const int DefaultWakeThreshold = 256;

    /// <summary>Rows kept in memory while the store fails: weeks of a household's use, bounded all the same.</summary>
    public const int MaxPendingRows = 100_000;

    /// <summary>Added to <see cref="_queued"/> on stop: far above any capacity, and far below overflow.</summary>
    private const long Closed = 1L << 40;

    public static readonly TimeSpan DefaultFlushInterval = TimeSpan.FromSeconds(5);

    private readonly UsageStore _store;
    private readonly ILogger _logger;
    // Lock-free: a record costs the request one increment of _queued and one slot of the queue, with no lock that
    // the request threads and the writer would take in turn. _queued bounds it (a ConcurrentQueue has no bound).
    private readonly ConcurrentQueue<UsageRecord> _queue = new();
    private readonly int _capacity;
    private readonly Dictionary<UsageRollupKey, UsageRollup> _pending = [];
    private readonly int _wakeThreshold;

    // Wakes the writer: a flush is due, the queue reached its wake threshold, or the recorder stops. Never disposed,
    // since a late TryRecord may still set it; without a wait handle it holds nothing to release. The writer blocks
    // at once, without spinning first: the next wake is 256 requests or a flush interval away, and the default spin
    // (yielding the processor again and again) cost the request threads more than the writer's whole work did.
    private readonly ManualResetEventSlim _signal = new(initialState: false, spinCount: 0);
    private readonly ITimer _timer;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TaskCompletionSource<bool> _nextFlush = NewFlush();

    // Records taken and not yet summed by the writer; Closed is added when the recorder stops, so that every later
    // TryRecord sees a queue over its capacity.
    private long _queued;
    private int _flushRequested;
    private int _disposed;
    private bool _stopping;
    private long _dropped;
    private long _errors;

    // Touched by the writer thread only.
    private volatile bool _failing;
    private long _errorsBeforeFailing;
    private bool _dropping;
    private long _droppedReported;

    /// <param name="store">Written by this recorder only, and disposed with it.</param>
    /// <param name="time">Drives the flush interval.</param>
    /// <param name="flushInterval">How often the sums are written; <see cref="DefaultFlushInterval"/> when null.</param>
    /// <param name="queueCapacity">
    /// Records the queue holds before it drops; the writer drains it at <see cref="DefaultWakeThreshold"/> records, or
    /// when half full if that is fewer.
    /// </param>
    public UsageRecorder(UsageStore store, TimeProvider time, ILogger logger, TimeSpan? flushInterval = null, int queueCapacity = DefaultQueueCapacity)
        : this(store, time, logger, flushInterval, queueCapacity, wakeThreshold: Math.Clamp(queueCapacity / 2, 1, DefaultWakeThreshold))
    {
    }

    /// <param name="wakeThreshold">Queued records that wake the writer before the flush is due.</param>
    internal UsageRecorder(UsageStore store, TimeProvider time, ILogger logger, TimeSpan? flushInterval, int queueCapacity, int wakeThreshold)
    {
        var interval = flushInterval ?? DefaultFlushInterval;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero, nameof(flushInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCapacity, 1);
        _store = store;
        _logger = logger;
        _capacity = queueCapacity;
        _wakeThreshold = wakeThreshold;
        _timer = time.CreateTimer(static state => ((UsageRecorder)state!).RequestFlush(), this, interval, interval);
        new Thread(Run) { IsBackground = true, Name = "Usage writer" }.UnsafeStart();
    }

    /// <summary>Failed attempts to open or write the database, since start.</summary>
    public long ErrorCount => Interlocked.Read(ref _errors);

    /// <summary>Records dropped since start: the queue was full, too many rows waited for a failing store, or the recorder had stopped.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>The last attempt to open or write the database failed.</summary>
    public bool IsFailing => _failing;

    /// <summary>Records in the queue, not yet summed by the writer.</summary>
    internal int Queued => (int)(Interlocked.Read(ref _queued) % Closed);

    /// <summary>Completes when the next flush has ended (true: everything recorded before it is in the database).</summary>
    internal Task<bool> NextFlush => Volatile.Read(ref _nextFlush).Task;

    /// <summary>
    /// Queues <paramref name="record"/> for the store. Never blocks, never throws: false when the queue is full (the
    /// record is dropped and counted). Allocates nothing once the queue has grown.
    /// </summary>
    public bool TryRecord(in UsageRecord record)
    {
        var queued = Interlocked.Increment(ref _queued);
        if (queued > _capacity)
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Increment(ref _dropped);
            return false;
        }

        _queue.Enqueue(record);

        // The writer sleeps between flushes; it is woken to sum the queue before it fills.
        if (queued == _wakeThreshold)
        {
            _signal.Set();
        }

        return true;
    }

    /// <summary>
    /// Writes what was recorded before this call now, instead of at the next interval. Completes with true when it is
    /// in the database, false when the store failed (the sums are kept for the next try) or the recorder has stopped.
    /// </summary>
    public Task<bool> FlushAsync()
    {
        var flush = NextFlush;
        RequestFlush();
        return flush;
    }

    /// <summary>Stops the timer, writes what is left (one last try) and closes the store.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await _stopped.Task.ConfigureAwait(false);
            return;
        }

        await _timer.DisposeAsync().ConfigureAwait(false);

        // Closed before _stopping is set: once the writer sees _stopping, it knows how many records are still to come.
        Interlocked.Add(ref _queued, Closed);
        Volatile.Write(ref _stopping, true);
        _signal.Set();
        await _stopped.Task.ConfigureAwait(false);
        _store.Dispose();
    }

    private static TaskCompletionSource<bool> NewFlush() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void RequestFlush()
    {
        Volatile.Write(ref _flushRequested, 1);
        _signal.Set();
    }

    private void Run()
    {
        // Opening migrates the schema: at start, so that a failure shows in the log at once, not at the first flush.
        TryStore(static store => store.Open());
        while (true)
        {
            _signal.Wait();
            _signal.Reset();
            var stopping = Volatile.Read(ref _stopping);
            Drain();
            if (stopping || Interlocked.Exchange(ref _flushRequested, 0) != 0)
            {
                Flush();
            }

            if (stopping)
            {
                break;
            }

            // A record queued while the drain ran saw the count still holding the drained ones, past the threshold,
            // and woke nobody: now that the count is exact, the writer wakes itself if enough have come.
            if (Queued >= _wakeThreshold)
            {
                _signal.Set();
            }
        }

        Volatile.Read(ref _nextFlush).TrySetResult(false);
        _stopped.TrySetResult();
    }

    /// <summary>
    /// Sums the queued records into <see cref="_pending"/>. Once stopped, also those still on their way: a TryRecord
    /// that counted itself in <see cref="_queued"/> before the stop enqueues a moment later.
    /// </summary>
    private void Drain()
    {
        var drained = 0;
        var spin = default(SpinWait);

        // The row summed last: requests come in runs from the same client, model, key and route, and comparing a key
        // to it (the same strings, by reference first) costs less than hashing it for the lookup.
        var lastKey = default(UsageRollupKey);
        ref var last = ref Unsafe.NullRef<UsageRollup>();
        while (true)
        {
            if (!_queue.TryDequeue(out var record))
            {
                var queued = Interlocked.Read(ref _queued);
                if (queued < Closed || queued - Closed <= drained)
                {
                    break;
                }

                spin.SpinOnce();
                continue;
            }

            drained++;
            var key = UsageRollupKey.For(record);
            if (Unsafe.IsNullRef(ref last) || !key.Equals(lastKey))
            {
                // Only here does the dictionary change, and only after this is the reference to a row taken again.
                ref var sums = ref CollectionsMarshal.GetValueRefOrAddDefault(_pending, key, out var exists);
                if (!exists && _pending.Count > MaxPendingRows)
                {
                    _pending.Remove(key);
                    Interlocked.Increment(ref _dropped);
                    last = ref Unsafe.NullRef<UsageRollup>();
                    continue;
                }

                lastKey = key;
                last = ref sums;
            }

            last.Add(record);
        }

        if (drained > 0)
        {
            Interlocked.Add(ref _queued, -drained);
        }
    }

    private void Flush()
    {
        // Swapped before the drain: whoever got this flush from FlushAsync had queued its records before, so they
        // are summed and written by it.
        var flush = Interlocked.Exchange(ref _nextFlush, NewFlush());
        Drain();
        var written = _pending.Count == 0 || TryStore(static (store, pending) => store.Write(pending), _pending);
        if (written)
        {
            _pending.Clear();
        }

        ReportDrops();
        flush.TrySetResult(written);
    }

    private bool TryStore(Action<UsageStore> action) => TryStore(static (store, act) => act(store), action);

    private bool TryStore<TState>(Action<UsageStore, TState> action, TState state)
    {
        try
        {
            action(_store, state);
        }
        catch (Exception e)
        {
            // Whatever the store throws (SQLite, I/O, schema) stays here: the writer thread must live on, and the
            // proxy must never learn of it.
            var errors = Interlocked.Increment(ref _errors);
            if (!_failing)
            {
                _failing = true;
                _errorsBeforeFailing = errors - 1;
                UsageStoreLog.Failing(_logger, _store.Path, e.Message);
            }

            return false;
        }

        if (_failing)
        {
            _failing = false;
            UsageStoreLog.Recovered(_logger, _store.Path, Interlocked.Read(ref _errors) - _errorsBeforeFailing);
        }

        return true;
    }

    /// <summary>Logs when records start being dropped and when a flush interval passes without a drop.</summary>
    private void ReportDrops()
    {
        var dropped = Interlocked.Read(ref _dropped);
        if (dropped != _droppedReported)
        {
            _droppedReported = dropped;
            if (!_dropping)
            {
                _dropping = true;
                UsageStoreLog.Dropping(_logger, dropped);
            }
        }
        else if (_dropping)
        {
            _dropping = false;
            UsageStoreLog.StoppedDropping(_logger, dropped);
        }
    }
}
