using System.Text;
using Microsoft.Data.Sqlite;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>Reading the totals back, for the <c>usage</c> command and the admin listener's <c>/usage</c>.</summary>
public sealed partial class UsageStore
{
    /// <summary>
    /// Sums the rows <paramref name="query"/> selects, on a connection of its own (any thread). The file must exist;
    /// a file at an older schema version is migrated first.
    /// </summary>
    public UsageQueryResult Query(UsageQuery query)
    {
        using var connection = new SqliteConnection(ConnectionString(SqliteOpenMode.ReadWrite));
        connection.Open();
        Migrate(connection);

        // The SQL is built from the fixed column names of UsageDimensions only; the bounds are parameters.
        var columns = new StringBuilder();
        foreach (var (flag, _, column) in UsageDimensions.All)
        {
            if ((query.By & flag) != 0)
            {
                columns.Append(columns.Length == 0 ? "" : ", ").Append(column);
            }
        }

        using var select = connection.CreateCommand();
        select.CommandText = $"""
            SELECT {columns}{(columns.Length == 0 ? "" : ", ")}
                SUM(requests), SUM(prompt_tokens), SUM(completion_tokens), SUM(unknown_token_requests),
                SUM(ttfb_us_sum), SUM(duration_us_sum), MAX(duration_us_max)
            FROM usage_hourly
            WHERE hour >= $since AND hour < $until
            {(columns.Length == 0 ? "" : $"GROUP BY {columns} ORDER BY {columns}")}
            """;
        select.Parameters.AddWithValue("$since", query.Since is { } since ? UsageRollupKey.HourOf(since) : long.MinValue);
        select.Parameters.AddWithValue("$until", query.Until is { } until ? until.ToUnixTimeSeconds() : long.MaxValue);

        var rows = new List<UsageQueryRow>();
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                var ordinal = 0;
                string? Next(UsageGrouping flag) => (query.By & flag) != 0 ? reader.GetString(ordinal++) : null;
                DateTimeOffset? NextHour() =>
                    (query.By & UsageGrouping.Hour) != 0 ? DateTimeOffset.FromUnixTimeSeconds(reader.GetInt64(ordinal++)) : null;
                long Sum()
                {
                    var sum = reader.IsDBNull(ordinal) ? 0 : reader.GetInt64(ordinal);
                    ordinal++;
                    return sum;
                }

                // Read in the order of UsageDimensions.All, which is the order of the selected columns.
                var row = new UsageQueryRow
                {
                    Hour = NextHour(),
                    Client = Next(UsageGrouping.Client),
                    Model = Next(UsageGrouping.Model),
                    Key = Next(UsageGrouping.Key),
                    Route = Next(UsageGrouping.Route),
                    Status = Next(UsageGrouping.Status),
                    Requests = Sum(),
                    PromptTokens = Sum(),
                    CompletionTokens = Sum(),
                    UnknownTokenRequests = Sum(),
                    TimeToFirstByteMicroseconds = Sum(),
                    DurationMicroseconds = Sum(),
                    MaxDurationMicroseconds = Sum(),
                };

                // Without grouping, SUM over no rows is one row of NULLs: no requests, no line.
                if (row.Requests > 0)
                {
                    rows.Add(row);
                }
            }
        }

        return new UsageQueryResult(query, rows, UsageQueryRow.Total(rows));
    }
}
