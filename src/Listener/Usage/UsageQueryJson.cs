using System.Buffers;
using System.Text.Json;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// A query's answer as JSON, for the admin listener's <c>/usage</c>: the same figures as the <c>usage</c> command, by
/// the same names as its CSV header. Written with <see cref="Utf8JsonWriter"/>: no reflection.
/// </summary>
/// <example>
/// <code>
/// {"since":"2025-06-01T13:00:00+00:00","until":null,"by":["client","model"],
///  "rows":[{"client":"laptop","model":"gpt-oss:20b","requests":3,"prompt_tokens":1200,"completion_tokens":340,
///           "unknown_token_requests":0,"avg_ttfb_ms":120.5,"avg_duration_ms":900.25,"max_duration_ms":1500}],
///  "total":{"requests":3,...}}
/// </code>
/// </example>
public static class UsageQueryJson
{
    public static void Write(Utf8JsonWriter writer, UsageQueryResult result)
    {
        var query = result.Query;
        writer.WriteStartObject();
        WriteTime(writer, "since", query.Since is { } since ? DateTimeOffset.FromUnixTimeSeconds(UsageRollupKey.HourOf(since)) : null);
        WriteTime(writer, "until", query.Until);
        writer.WriteStartArray("by");
        foreach (var name in UsageDimensions.Names(query.By))
        {
            writer.WriteStringValue(name);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("rows");
        foreach (var row in result.Rows)
        {
            WriteRow(writer, row, query.By);
        }

        writer.WriteEndArray();
        writer.WritePropertyName("total");
        WriteRow(writer, result.Total, UsageGrouping.None);
        writer.WriteEndObject();
    }

    /// <summary>The answer as UTF-8 bytes, for a response body.</summary>
    public static byte[] ToUtf8(UsageQueryResult result)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, result);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteRow(Utf8JsonWriter writer, UsageQueryRow row, UsageGrouping by)
    {
        writer.WriteStartObject();
        foreach (var (flag, name, _) in UsageDimensions.All)
        {
            if ((by & flag) != 0)
            {
                writer.WriteString(name, row.Column(flag));
            }
        }

        writer.WriteNumber("requests", row.Requests);
        writer.WriteNumber("prompt_tokens", row.PromptTokens);
        writer.WriteNumber("completion_tokens", row.CompletionTokens);
        writer.WriteNumber("unknown_token_requests", row.UnknownTokenRequests);
        writer.WriteNumber("avg_ttfb_ms", Math.Round(row.AverageTimeToFirstByteMilliseconds, 3));
        writer.WriteNumber("avg_duration_ms", Math.Round(row.AverageDurationMilliseconds, 3));
        writer.WriteNumber("max_duration_ms", Math.Round(row.MaxDurationMilliseconds, 3));
        writer.WriteEndObject();
    }

    private static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset? time)
    {
        if (time is { } value)
        {
            writer.WriteString(name, value.ToUniversalTime());
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
