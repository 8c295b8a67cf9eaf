namespace OllamaSocketProxy.Listener.Usage;

/// <summary>The sums of one row (<see cref="UsageRollupKey"/>), over the requests of its hour.</summary>
public struct UsageRollup
{
    public long Requests;
    public long PromptTokens;
    public long CompletionTokens;

    /// <summary>Requests whose answer carried no token count (<see cref="UsageRecord.CompletionTokens"/>).</summary>
    public long UnknownTokenRequests;

    public long TimeToFirstByteMicroseconds;
    public long DurationMicroseconds;
    public long MaxDurationMicroseconds;

    public void Add(in UsageRecord record)
    {
        Requests++;
        if (record.PromptTokens is null && record.CompletionTokens is null)
        {
            UnknownTokenRequests++;
        }

        PromptTokens += Math.Max(0, record.PromptTokens ?? 0);
        CompletionTokens += Math.Max(0, record.CompletionTokens ?? 0);
        TimeToFirstByteMicroseconds += Microseconds(record.TimeToFirstByte);
        var duration = Microseconds(record.Duration);
        DurationMicroseconds += duration;
        MaxDurationMicroseconds = Math.Max(MaxDurationMicroseconds, duration);
    }

    internal static long Microseconds(TimeSpan time) => time <= TimeSpan.Zero ? 0 : time.Ticks / TimeSpan.TicksPerMicrosecond;
}
