using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// Takes finished requests off the request path to the usage store. <see cref="TryRecord(in UsageRecord)"/> adds the
/// request to its hourly row in memory (a <see cref="UsageCell"/>, with interlocked operations) and returns at once;
/// a thread of the recorder's own writes what the rows gained in one transaction every flush interval, when asked
/// (<see cref="FlushAsync"/>) and on <see cref="DisposeAsync"/>.
/// </summary>
/// <remarks>
/// <para>
/// What a crash costs: what the rows gained since the last flush is in memory only, so a <c>kill -9</c> loses at
/// most the requests of the last flush interval (5 seconds by default). A committed flush survives the process being
/// killed; only a power cut can take the last commits with it (WAL with synchronous=NORMAL, see <see cref="UsageStore"/>).
/// </para>
/// <para>
/// A store that fails (locked by another writer, disk full, read-only, corrupt, written by a newer release) never
/// reaches the caller and never slows it: the rows keep what was not written and it is tried again at every flush.
/// Each failed attempt counts in <see cref="ErrorCount"/>; the failure is logged once when it starts and once when a
/// write succeeds again. Rows stay in memory while their hour runs and an hour after, and longer while they hold
/// what was not written; at most <see cref="MaxRows"/> of them: a request for a row beyond that is dropped and
/// counted (<see cref="DroppedCount"/>).
/// </para>
/// <para>
/// A request recorded after <see cref="DisposeAsync"/> began is refused and counted as dropped; one whose recording
/// is under way while the last flush reads the rows may be missed by it. The proxy disposes the recorder after its
/// last connection has ended.
/// </para>
/// </remarks>
public sealed class UsageRecorder : IAsyncDisposable
{
    /// <summary>Rows kept in memory: a household's weeks of use while the store fails, bounded all the same.</summary>
    public const int MaxRows = 100_000;

    public static readonly TimeSpan DefaultFlushInterval = TimeSpan.FromSeconds(5);

    /// <summary>How long a written row stays in memory after its hour ended, for a request that finished in that hour and is recorded late.</summary>
    private static readonly TimeSpan s_rowLingers = TimeSpan.FromHours(1);

    private readonly UsageStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<UsageRollupKey, UsageCell> _rows = new();
    private readonly int _maxRows;

    // The writer's alone: what a flush writes, the rows it read, and the rows dropped from memory at the last flush,
    // read once more at the next for what a caller added while the writer dropped them.
    private readonly Dictionary<UsageRollupKey, UsageRollup> _unwritten = [];
    private readonly List<(UsageCell Cell, UsageRollup Sums)> _read = [];
    private readonly List<UsageCell> _forgotten = [];

    // Wakes the writer: a flush is due or asked for, or the recorder stops. Never disposed, since a late FlushAsync
    // may still set it; without a wait handle it holds nothing to release. The writer blocks at once, without
    // spinning first: it is woken every few seconds, and a spin would only take the processor from the requests.
    private readonly ManualResetEventSlim _signal = new(initialState: false, spinCount: 0);
    private readonly ITimer _timer;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TaskCompletionSource<bool> _nextFlush = NewFlush();
    private int _flushRequested;
    private int _disposed;
    private volatile bool _stopping;
    private long _dropped;
    private long _errors;

    // The rows in memory: the dictionary's own count would take every one of its locks.
    private int _rowCount;

    // Touched by the writer thread only.
    private volatile bool _failing;
    private long _errorsBeforeFailing;
    private bool _dropping;
    private long _droppedReported;

    /// <param name="store">Written by this recorder only, and disposed with it.</param>
    /// <param name="time">Drives the flush interval, and tells which rows' hours are over.</param>
    /// <param name="flushInterval">How often the rows are written; <see cref="DefaultFlushInterval"/> when null.</param>
    public UsageRecorder(UsageStore store, TimeProvider time, ILogger logger, TimeSpan? flushInterval = null)
        : this(store, time, logger, flushInterval, MaxRows)
    {
    }

    /// <param name="maxRows">Rows kept in memory before requests for a new one are dropped.</param>
    internal UsageRecorder(UsageStore store, TimeProvider time, ILogger logger, TimeSpan? flushInterval, int maxRows)
    {
        var interval = flushInterval ?? DefaultFlushInterval;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero, nameof(flushInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        _store = store;
        _time = time;
        _logger = logger;
        _maxRows = maxRows;
        _timer = time.CreateTimer(static state => ((UsageRecorder)state!).RequestFlush(), this, interval, interval);
        new Thread(Run) { IsBackground = true, Name = "Usage writer" }.UnsafeStart();
    }

    /// <summary>Failed attempts to open or write the database, since start.</summary>
    public long ErrorCount => Interlocked.Read(ref _errors);

    /// <summary>Requests dropped since start: their row would have been one too many in memory, or the recorder had stopped.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>The last attempt to open or write the database failed.</summary>
    public bool IsFailing => _failing;

    /// <summary>Rows in memory.</summary>
    internal int Rows => Volatile.Read(ref _rowCount);

    /// <summary>Completes when the next flush has ended (true: everything recorded before it is in the database).</summary>
    internal Task<bool> NextFlush => Volatile.Read(ref _nextFlush).Task;

    /// <summary>
    /// Adds <paramref name="record"/> to its row. Never blocks, never throws: false when it is dropped (and counted).
    /// Allocates only for a row that is new.
    /// </summary>
    public bool TryRecord(in UsageRecord record)
    {
        UsageCell? row = null;
        return TryRecord(record, ref row);
    }

    /// <summary>
    /// <see cref="TryRecord(in UsageRecord)"/>, first trying <paramref name="recent"/>, the row a caller's last record
    /// went to (a connection's requests mostly go to one), which is set to this record's row.
    /// </summary>
    public bool TryRecord(in UsageRecord record, ref UsageCell? recent)
    {
        if (_stopping)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }

        var hour = UsageRollupKey.HourOf(record.At);
        var statusClass = UsageStatusClass.Of(record.Status);
        var row = recent;
        if (row is null || row.Forgotten || !row.Is(hour, record.Client, record.Model, record.Key, record.Route, statusClass))
        {
            var key = UsageRollupKey.For(record);
            while (!_rows.TryGetValue(key, out row))
            {
                if (Volatile.Read(ref _rowCount) >= _maxRows)
                {
                    Interlocked.Increment(ref _dropped);
                    return false;
                }

                var created = new UsageCell(key);
                if (_rows.TryAdd(key, created))
                {
                    Interlocked.Increment(ref _rowCount);
                    row = created;
                    break;
                }
            }

            recent = row;
        }

        row.Add(record);
        return true;
    }

    /// <summary>
    /// Writes what was recorded before this call now, instead of at the next interval. Completes with true when it is
    /// in the database, false when the store failed (the rows keep it for the next try) or the recorder has stopped.
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
            await _closed.Task.ConfigureAwait(false);
            return;
        }

        await _timer.DisposeAsync().ConfigureAwait(false);
        _stopping = true;
        _signal.Set();
        await _stopped.Task.ConfigureAwait(false);
        _store.Dispose();
        _closed.TrySetResult();
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
            var stopping = _stopping;
            if (stopping || Interlocked.Exchange(ref _flushRequested, 0) != 0)
            {
                Flush();
            }

            if (stopping)
            {
                break;
            }
        }

        Volatile.Read(ref _nextFlush).TrySetResult(false);
        _stopped.TrySetResult();
    }

    private void Flush()
    {
        // Swapped before the rows are read: whoever got this flush from FlushAsync had recorded before, so it is
        // written by it.
        var flush = Interlocked.Exchange(ref _nextFlush, NewFlush());
        foreach (var (_, row) in _rows)
        {
            Read(row);
        }

        foreach (var row in _forgotten)
        {
            Read(row);
        }

        var written = _unwritten.Count == 0 || TryStore(static (store, unwritten) => store.Write(unwritten), _unwritten);
        if (written)
        {
            foreach (var (row, sums) in _read)
            {
                row.MarkWritten(sums);
            }

            _forgotten.Clear();
            ForgetPastRows();
        }

        _unwritten.Clear();
        _read.Clear();
        ReportDrops();
        flush.TrySetResult(written);
    }

    /// <summary>Adds what <paramref name="row"/> gained since its last write to the flush (a forgotten row and its successor share a key).</summary>
    private void Read(UsageCell row)
    {
        if (!row.TryTakeUnwritten(out var sums, out var unwritten))
        {
            return;
        }

        ref var pending = ref CollectionsMarshal.GetValueRefOrAddDefault(_unwritten, row.Key, out _);
        pending.Requests += unwritten.Requests;
        pending.PromptTokens += unwritten.PromptTokens;
        pending.CompletionTokens += unwritten.CompletionTokens;
        pending.UnknownTokenRequests += unwritten.UnknownTokenRequests;
        pending.TimeToFirstByteMicroseconds += unwritten.TimeToFirstByteMicroseconds;
        pending.DurationMicroseconds += unwritten.DurationMicroseconds;
        pending.MaxDurationMicroseconds = Math.Max(pending.MaxDurationMicroseconds, unwritten.MaxDurationMicroseconds);
        _read.Add((row, sums));
    }

    /// <summary>
    /// Drops the rows whose hour ended more than <see cref="s_rowLingers"/> ago and that hold nothing unwritten. Each
    /// is marked first, so a caller that still holds it looks its row up again, and read once more at the next flush
    /// for what was added while it was dropped.
    /// </summary>
    private void ForgetPastRows()
    {
        var before = UsageRollupKey.HourOf(_time.GetUtcNow() - s_rowLingers) - (long)TimeSpan.FromHours(1).TotalSeconds;
        foreach (var (key, row) in _rows)
        {
            if (key.Hour <= before && !row.TryTakeUnwritten(out _, out _))
            {
                row.Forget();
                if (_rows.TryRemove(key, out _))
                {
                    Interlocked.Decrement(ref _rowCount);
                    _forgotten.Add(row);
                }
            }
        }
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

    /// <summary>Logs when requests start being dropped and when a flush interval passes without a drop.</summary>
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
