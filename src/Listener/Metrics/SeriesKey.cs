using System.Buffers;
using System.Globalization;

namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// The tag set of one series, as a measurement carried it, and its label list in the exposition format, built once
/// when the series is first seen. Two tag sets are the same series when they hold the same names with equal values,
/// in any order: a call site may list its tags in another order than the next.
/// </summary>
internal sealed class SeriesKey
{
    private readonly KeyValuePair<string, object?>[] _tags;

    // The tags as the measurement that made the key listed them, duplicates and all.
    private readonly KeyValuePair<string, object?>[] _recorded;

    private SeriesKey(KeyValuePair<string, object?>[] tags, KeyValuePair<string, object?>[] recorded, int hash, byte[] labels)
    {
        _tags = tags;
        _recorded = recorded;
        Hash = hash;
        Labels = labels;
    }

    /// <summary>Equal for equal tag sets, whatever their order (see <see cref="HashOf"/>).</summary>
    public int Hash { get; }

    /// <summary><c>a="x",b="y"</c>: the labels sorted by name, values escaped, UTF-8.</summary>
    public byte[] Labels { get; }

    /// <summary>
    /// A key for <paramref name="tags"/>. A tag whose name was already given is dropped (a label appears once), so such a
    /// key never matches its own tags and their measurements take the slower path.
    /// </summary>
    public static SeriesKey Create(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var unique = new List<KeyValuePair<string, object?>>(tags.Length);
        for (var i = 0; i < tags.Length; i++)
        {
            if (IndexOf(tags[..i], tags[i].Key) < 0)
            {
                unique.Add(tags[i]);
            }
        }

        var sorted = unique.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var labels = new ArrayBufferWriter<byte>();
        var writer = new PrometheusTextWriter(labels);
        for (var i = 0; i < sorted.Length; i++)
        {
            writer.WriteLabelPair(PrometheusTextWriter.SanitizeLabelName(sorted[i].Key), TextOf(sorted[i].Value), first: i == 0);
        }

        return new SeriesKey(sorted, tags.ToArray(), HashOf(sorted), labels.WrittenSpan.ToArray());
    }

    /// <summary>A hash that does not depend on the order of <paramref name="tags"/>: the sum of one hash per tag.</summary>
    public static int HashOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var hash = tags.Length;
        foreach (var tag in tags)
        {
            hash = unchecked(hash + HashCode.Combine(tag.Key.GetHashCode(StringComparison.Ordinal), ValueHash(tag.Value)));
        }

        return hash;
    }

    /// <summary>Whether <paramref name="tags"/> is this key's tag set, in any order.</summary>
    public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length != _tags.Length)
        {
            return false;
        }

        foreach (var tag in tags)
        {
            if (!Contains(tag))
            {
                return false;
            }
        }

        return true;
    }

    public bool Matches(SeriesKey other) => Matches(other._tags);

    /// <summary>
    /// Whether <paramref name="tags"/> are the ones that made this key, in the same order: a check without a hash or a
    /// lookup, for a call site that records the same tags again (the names are compared by reference first, and
    /// values that are the same strings as before compare at once). False does not mean another series.
    /// </summary>
    public bool IsRecordedAs(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var recorded = _recorded;
        if (tags.Length != recorded.Length)
        {
            return false;
        }

        for (var i = 0; i < tags.Length; i++)
        {
            if (!string.Equals(tags[i].Key, recorded[i].Key, StringComparison.Ordinal) || !ValueEquals(tags[i].Value, recorded[i].Value))
            {
                return false;
            }
        }

        return true;
    }

    private bool Contains(KeyValuePair<string, object?> tag)
    {
        var index = IndexOf(_tags, tag.Key);
        return index >= 0 && ValueEquals(_tags[index].Value, tag.Value);
    }

    private static int IndexOf(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        for (var i = 0; i < tags.Length; i++)
        {
            if (string.Equals(tags[i].Key, name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool ValueEquals(object? a, object? b) =>
        a is string x ? b is string y && string.Equals(x, y, StringComparison.Ordinal) : Equals(a, b);

    private static int ValueHash(object? value) => value switch
    {
        null => 0,
        string text => text.GetHashCode(StringComparison.Ordinal),
        _ => value.GetHashCode(),
    };

    private static string TextOf(object? value) => value switch
    {
        null => "",
        string text => text,
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
