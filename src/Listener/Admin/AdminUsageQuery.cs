using System.Text;
using OllamaSocketProxy.Listener.Usage;

namespace OllamaSocketProxy.Listener.Admin;

/// <summary>
/// Reads <c>/usage?since=…&amp;until=…&amp;by=…</c> into a <see cref="UsageQuery"/>, with the <c>usage</c> command's
/// words: <c>since</c> and <c>until</c> are an age (<c>36h</c>, <c>7d</c>, <c>2w</c>) or a UTC date or time
/// (<see cref="UsageCommand.TryParseTime"/>), <c>by</c> the columns (<see cref="UsageDimensions"/>).
/// </summary>
/// <remarks>
/// Unlike the command, <c>since</c> defaults to <see cref="DefaultSince"/>: a page polls this, and a poll should not
/// sum every hour the retention kept unless asked to (<c>since=all</c>). <c>by</c> defaults to client and model, as
/// the command's does. The query is form-encoded, as a browser's <c>URLSearchParams</c> writes it: <c>+</c> is a space
/// and <c>%XX</c> a byte of UTF-8 (the WHATWG URL Standard's application/x-www-form-urlencoded parser). An unknown or
/// repeated parameter is refused rather than ignored, so a typo does not silently answer another question.
/// </remarks>
internal static class AdminUsageQuery
{
    /// <summary>The window when <c>since</c> is not given.</summary>
    public static readonly TimeSpan DefaultSince = TimeSpan.FromDays(7);

    private const string TimeWords = "an age (36h, 7d, 2w) or a UTC date or time (2025-06-01, 2025-06-01T13:00)";

    /// <summary>
    /// The query <paramref name="query"/> (after the <c>?</c>) asks for, ages counted back from <paramref name="now"/>;
    /// false with <paramref name="error"/>, a fixed text that quotes nothing of the request, when it asks wrongly.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> query, DateTimeOffset now, out UsageQuery usageQuery, out string error)
    {
        usageQuery = null!;
        string? since = null, until = null, by = null;
        foreach (var range in query.Split((byte)'&'))
        {
            var pair = query[range];
            if (pair.IsEmpty)
            {
                continue;
            }

            var equals = pair.IndexOf((byte)'=');
            var name = Decode(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? "" : Decode(pair[(equals + 1)..]).Trim();
            switch (name)
            {
                case "since" when since is null:
                    since = value;
                    break;
                case "until" when until is null:
                    until = value;
                    break;
                case "by" when by is null:
                    by = value;
                    break;
                case "since" or "until" or "by":
                    error = $"{name} is given twice";
                    return false;
                default:
                    error = "unknown parameter: /usage takes since, until and by";
                    return false;
            }
        }

        DateTimeOffset? from = now - DefaultSince;
        if (since is not null && !TryParseTime(since, now, allowAll: true, out from))
        {
            error = $"since takes {TimeWords}, or all";
            return false;
        }

        DateTimeOffset? to = null;
        if (until is not null && !TryParseTime(until, now, allowAll: false, out to))
        {
            error = $"until takes {TimeWords}";
            return false;
        }

        var grouping = UsageGrouping.Client | UsageGrouping.Model;
        if (by is not null && !UsageDimensions.TryParse(by, out grouping))
        {
            error = $"by takes {UsageDimensions.Listed}, separated by commas, or none";
            return false;
        }

        if (from is { } start && to is { } end && end <= start)
        {
            error = "until must be later than since";
            return false;
        }

        usageQuery = new UsageQuery(from, to, grouping);
        error = "";
        return true;
    }

    private static bool TryParseTime(string text, DateTimeOffset now, bool allowAll, out DateTimeOffset? time)
    {
        time = null;
        if (allowAll && text.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (!UsageCommand.TryParseTime(text, now, out var parsed))
        {
            return false;
        }

        time = parsed;
        return true;
    }

    /// <summary>A form-encoded name or value: <c>+</c> is a space, <c>%XX</c> a byte of UTF-8; a stray <c>%</c> stays.</summary>
    private static string Decode(ReadOnlySpan<byte> encoded)
    {
        // The request line parser let only visible ASCII into the target.
        var text = Encoding.ASCII.GetString(encoded).Replace('+', ' ');
        return text.Contains('%', StringComparison.Ordinal) ? Uri.UnescapeDataString(text) : text;
    }
}
