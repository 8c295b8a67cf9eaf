using System.Globalization;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>One line of a query's answer: the sums over its group. A column the query did not group by is null.</summary>
public sealed class UsageQueryRow
{
    /// <summary>The start of the row's hour, UTC.</summary>
    public DateTimeOffset? Hour { get; init; }

    public string? Client { get; init; }
    public string? Model { get; init; }
    public string? Key { get; init; }
    public string? Route { get; init; }

    /// <summary>The status class: 2xx, 4xx, 5xx, ...</summary>
    public string? Status { get; init; }

    public long Requests { get; init; }
    public long PromptTokens { get; init; }
    public long CompletionTokens { get; init; }

    /// <summary>Requests whose answer carried no token count; their tokens are in neither sum.</summary>
    public long UnknownTokenRequests { get; init; }

    public long TimeToFirstByteMicroseconds { get; init; }
    public long DurationMicroseconds { get; init; }
    public long MaxDurationMicroseconds { get; init; }

    public double AverageTimeToFirstByteMilliseconds => Average(TimeToFirstByteMicroseconds);

    public double AverageDurationMilliseconds => Average(DurationMicroseconds);

    public double MaxDurationMilliseconds => MaxDurationMicroseconds / 1000.0;

    /// <summary>The value of the column <paramref name="grouping"/> (one flag) in this row.</summary>
    public string? Column(UsageGrouping grouping) => grouping switch
    {
        UsageGrouping.Hour => Hour is { } hour ? FormatUtc(hour) : null,
        UsageGrouping.Client => Client,
        UsageGrouping.Model => Model,
        UsageGrouping.Key => Key,
        UsageGrouping.Route => Route,
        UsageGrouping.Status => Status,
        _ => throw new ArgumentOutOfRangeException(nameof(grouping), grouping, "one column"),
    };

    /// <summary>A time as ISO 8601 in UTC to the second (<c>2025-06-01T13:00:00Z</c>): JavaScript's <c>Date</c> and spreadsheets read it.</summary>
    public static string FormatUtc(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The sums of <paramref name="rows"/>, grouped by nothing.</summary>
    public static UsageQueryRow Total(IReadOnlyList<UsageQueryRow> rows)
    {
        long requests = 0, prompt = 0, completion = 0, unknown = 0, ttfb = 0, duration = 0, max = 0;
        foreach (var row in rows)
        {
            requests += row.Requests;
            prompt += row.PromptTokens;
            completion += row.CompletionTokens;
            unknown += row.UnknownTokenRequests;
            ttfb += row.TimeToFirstByteMicroseconds;
            duration += row.DurationMicroseconds;
            max = Math.Max(max, row.MaxDurationMicroseconds);
        }

        return new UsageQueryRow
        {
            Requests = requests,
            PromptTokens = prompt,
            CompletionTokens = completion,
            UnknownTokenRequests = unknown,
            TimeToFirstByteMicroseconds = ttfb,
            DurationMicroseconds = duration,
            MaxDurationMicroseconds = max,
        };
    }

    private double Average(long microseconds) => Requests == 0 ? 0 : microseconds / 1000.0 / Requests;
}
