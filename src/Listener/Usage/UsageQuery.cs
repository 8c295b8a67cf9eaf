namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// Which hourly rows to sum, and by what. A row counts when its hour starts at or after <see cref="Since"/> rounded
/// down to the hour, and before <see cref="Until"/>: hours are the store's grain.
/// </summary>
/// <param name="Since">The earliest hour, or null for all that the retention kept.</param>
/// <param name="Until">The end, exclusive, or null for up to now.</param>
public sealed record UsageQuery(DateTimeOffset? Since, DateTimeOffset? Until, UsageGrouping By);
