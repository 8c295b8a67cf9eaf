namespace OllamaSocketProxy.Listener.Usage;

/// <summary>One row of the store: an hour (Unix seconds at its start) × client × model × key × route × status class.</summary>
public readonly record struct UsageRollupKey(long Hour, string Client, string Model, string Key, string Route, string StatusClass)
{
    private const long SecondsPerHour = 3600;

    /// <summary>The row <paramref name="record"/> adds to.</summary>
    public static UsageRollupKey For(in UsageRecord record) => new(
        HourOf(record.At), record.Client, record.Model, record.Key, record.Route, UsageStatusClass.Of(record.Status));

    /// <summary>The Unix time, in seconds, of the start of the hour <paramref name="time"/> falls in.</summary>
    public static long HourOf(DateTimeOffset time)
    {
        var seconds = time.ToUnixTimeSeconds();
        return seconds - (((seconds % SecondsPerHour) + SecondsPerHour) % SecondsPerHour);
    }
}
