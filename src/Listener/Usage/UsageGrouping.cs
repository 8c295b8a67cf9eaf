namespace OllamaSocketProxy.Listener.Usage;

/// <summary>What a <see cref="UsageQuery"/> sums by: none gives one total, each flag splits the totals by that column.</summary>
[Flags]
public enum UsageGrouping
{
    None = 0,
    Client = 1 << 0,
    Model = 1 << 1,
    Key = 1 << 2,
    Route = 1 << 3,

    /// <summary>The status class: 2xx, 4xx, 5xx, ...</summary>
    Status = 1 << 4,

    /// <summary>The hour a row counts, by its start (UTC): a series over time, oldest first.</summary>
    Hour = 1 << 5,
}
