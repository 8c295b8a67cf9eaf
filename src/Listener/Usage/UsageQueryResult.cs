namespace OllamaSocketProxy.Listener.Usage;

/// <summary>A query's answer: its rows, ordered by the grouped columns, and their total.</summary>
public sealed record UsageQueryResult(UsageQuery Query, IReadOnlyList<UsageQueryRow> Rows, UsageQueryRow Total);
