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
}
