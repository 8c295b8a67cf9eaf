namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// The running sums of one usage row (<see cref="UsageRollupKey"/>) while it is in memory: request threads add to
/// them with interlocked operations, the usage writer reads them at each flush and writes what was added since the
/// last write that succeeded. Every sum only grows, so what a flush reads is never more than what was added, and
/// what one flush misses (an add under way) the next one writes.
/// </summary>
public sealed class UsageCell
{
    private long _requests;
    private long _promptTokens;
    private long _completionTokens;
    private long _unknownTokenRequests;
    private long _timeToFirstByteMicroseconds;
    private long _durationMicroseconds;
    private long _maxDurationMicroseconds;

    // The sums as the last successful write saw them: the writer's alone.
    private UsageRollup _written;

    // Set by the writer when it drops the row from memory: a caller holding it looks it up again.
    private volatile bool _forgotten;

    internal UsageCell(UsageRollupKey key) => Key = key;

    internal UsageRollupKey Key { get; }

    /// <summary>The writer dropped the row from memory; what was added to it before it saw that is written once more.</summary>
    internal bool Forgotten => _forgotten;

    /// <summary>Whether this is the row of these columns; the same strings come request after request, so equal references end each compare.</summary>
    internal bool Is(long hour, string client, string model, string key, string route, string statusClass) =>
        Key.Hour == hour && Same(Key.Client, client) && Same(Key.Model, model) && Same(Key.Key, key) && Same(Key.Route, route)
        && Same(Key.StatusClass, statusClass);

    /// <summary>Equal strings; the reference is compared here, inline, since it is the same string nearly every time.</summary>
    private static bool Same(string a, string b) => ReferenceEquals(a, b) || string.Equals(a, b);

    /// <summary>
    /// Adds one request: a request with neither token count counts as one with unknown tokens, a count below zero
    /// adds nothing, times are summed in whole microseconds and the longest duration is kept.
    /// </summary>
    internal void Add(in UsageRecord record)
    {
        Interlocked.Increment(ref _requests);
        if (record.PromptTokens is null && record.CompletionTokens is null)
        {
            Interlocked.Increment(ref _unknownTokenRequests);
        }

        if (record.PromptTokens is { } prompt && prompt > 0)
        {
            Interlocked.Add(ref _promptTokens, prompt);
        }

        if (record.CompletionTokens is { } completion && completion > 0)
        {
            Interlocked.Add(ref _completionTokens, completion);
        }

        Interlocked.Add(ref _timeToFirstByteMicroseconds, Microseconds(record.TimeToFirstByte));
        var duration = Microseconds(record.Duration);
        Interlocked.Add(ref _durationMicroseconds, duration);
        var max = Volatile.Read(ref _maxDurationMicroseconds);
        while (duration > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxDurationMicroseconds, duration, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    /// <summary>
    /// The sums as they stand (<paramref name="now"/>) and what they hold that was not written yet
    /// (<paramref name="unwritten"/>); false when nothing was added since the last write. The writer's only.
    /// </summary>
    internal bool TryTakeUnwritten(out UsageRollup now, out UsageRollup unwritten)
    {
        now = new UsageRollup
        {
            Requests = Volatile.Read(ref _requests),
            PromptTokens = Volatile.Read(ref _promptTokens),
            CompletionTokens = Volatile.Read(ref _completionTokens),
            UnknownTokenRequests = Volatile.Read(ref _unknownTokenRequests),
            TimeToFirstByteMicroseconds = Volatile.Read(ref _timeToFirstByteMicroseconds),
            DurationMicroseconds = Volatile.Read(ref _durationMicroseconds),
            MaxDurationMicroseconds = Volatile.Read(ref _maxDurationMicroseconds),
        };

        // The store keeps the larger of two maxima, so the maximum goes again as it is.
        unwritten = new UsageRollup
        {
            Requests = now.Requests - _written.Requests,
            PromptTokens = now.PromptTokens - _written.PromptTokens,
            CompletionTokens = now.CompletionTokens - _written.CompletionTokens,
            UnknownTokenRequests = now.UnknownTokenRequests - _written.UnknownTokenRequests,
            TimeToFirstByteMicroseconds = now.TimeToFirstByteMicroseconds - _written.TimeToFirstByteMicroseconds,
            DurationMicroseconds = now.DurationMicroseconds - _written.DurationMicroseconds,
            MaxDurationMicroseconds = now.MaxDurationMicroseconds,
        };
        // The maximum counts too: a flush may read a request's duration before its maximum is set.
        return unwritten.Requests != 0 || unwritten.PromptTokens != 0 || unwritten.CompletionTokens != 0
            || unwritten.UnknownTokenRequests != 0 || unwritten.TimeToFirstByteMicroseconds != 0 || unwritten.DurationMicroseconds != 0
            || now.MaxDurationMicroseconds != _written.MaxDurationMicroseconds;
    }

    /// <summary>Marks the row dropped from memory (<see cref="Forgotten"/>). The writer's only.</summary>
    internal void Forget() => _forgotten = true;

    private static long Microseconds(TimeSpan time) => time <= TimeSpan.Zero ? 0 : time.Ticks / TimeSpan.TicksPerMicrosecond;

    /// <summary>Notes that <paramref name="now"/> (from <see cref="TryTakeUnwritten"/>) is in the database. The writer's only.</summary>
    internal void MarkWritten(in UsageRollup now) => _written = now;
}
