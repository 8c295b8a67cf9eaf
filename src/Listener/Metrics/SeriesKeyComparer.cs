namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// Compares series keys, and a measurement's tags with a key without building one: a recorded measurement finds its
/// series through <see cref="System.Collections.Concurrent.ConcurrentDictionary{TKey, TValue}.GetAlternateLookup{TAlternateKey}"/>
/// and allocates nothing once the series exists.
/// </summary>
internal sealed class SeriesKeyComparer :
    IEqualityComparer<SeriesKey>, IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, SeriesKey>
{
    public static SeriesKeyComparer Instance { get; } = new();

    public bool Equals(SeriesKey? x, SeriesKey? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && x.Hash == y.Hash && x.Matches(y));

    public int GetHashCode(SeriesKey obj) => obj.Hash;

    public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> alternate, SeriesKey other) => other.Matches(alternate);

    public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => SeriesKey.HashOf(alternate);

    public SeriesKey Create(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => SeriesKey.Create(alternate);
}
