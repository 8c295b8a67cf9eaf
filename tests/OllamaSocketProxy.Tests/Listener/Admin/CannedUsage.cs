using System.Globalization;
using System.Text.Json.Nodes;

namespace OllamaSocketProxy.Tests.Listener.Admin;

/// <summary>One hour of one client's traffic to one model, answered with one status class.</summary>
internal sealed record UsageSample(string Client, string Model, string Status, DateTimeOffset Hour, long Requests, long PromptTokens, long CompletionTokens);

/// <summary>
/// Hourly usage rows the way the admin listener's <c>usage</c> answers them (README.md#usage-and-metrics): grouped by
/// the dimensions asked for, named in a fixed order whatever the order asked, summed over the range.
/// </summary>
internal sealed class CannedUsage(IReadOnlyList<UsageSample> samples)
{
    /// <summary>The server's clock in every canned answer.</summary>
    public static readonly DateTimeOffset Now = new(2026, 12, 6, 6, 30, 0, TimeSpan.Zero);

    private static readonly string[] DimensionOrder = ["client", "model", "key", "route", "status", "hour"];

    public IReadOnlyList<UsageSample> Samples => samples;

    /// <summary>The first hour a range covers: the hour of <see cref="Now"/> less the range, as the listener rounds it.</summary>
    public static DateTimeOffset Since(string range)
    {
        var start = Now - range switch { "24h" => TimeSpan.FromHours(24), "7d" => TimeSpan.FromDays(7), "30d" => TimeSpan.FromDays(30), _ => throw new ArgumentOutOfRangeException(nameof(range)) };
        return new DateTimeOffset(start.Year, start.Month, start.Day, start.Hour, 0, 0, TimeSpan.Zero);
    }

    /// <summary>The samples a range covers.</summary>
    public IEnumerable<UsageSample> In(string range) => samples.Where(s => s.Hour >= Since(range));

    /// <summary>
    /// A day and a bit of traffic from three clients to three models, some of it refused (4xx) or failed (5xx), and
    /// older traffic that only the 7-day and 30-day ranges cover.
    /// </summary>
    public static CannedUsage Day()
    {
        string[] clients = ["laptop", "openwebui", "ci-runner"];
        string[] models = ["gpt-oss:20b", "qwen3-coder:480b", "deepseek-v3.1:671b"];
        var samples = new List<UsageSample>();
        var first = Since("24h");
        for (var hour = 0; hour <= 24; hour++)
        {
            for (var c = 0; c < clients.Length; c++)
            {
                for (var m = 0; m < models.Length; m++)
                {
                    if ((hour + c + m) % 4 == 0)
                    {
                        continue; // not every client uses every model every hour
                    }

                    var at = first.AddHours(hour);
                    var requests = 2 + ((hour * 7) + (c * 5) + (m * 3)) % 9;
                    samples.Add(new(clients[c], models[m], "2xx", at, requests, requests * (400 + (c * 250)), requests * (90 + (m * 60))));
                    if ((hour + c) % 5 == 0)
                    {
                        samples.Add(new(clients[c], models[m], "4xx", at, 1, 0, 0));
                    }

                    if ((hour * (c + 1)) % 11 == 3 && m == 2)
                    {
                        samples.Add(new(clients[c], models[m], "5xx", at, 2, 300, 0));
                    }
                }
            }
        }

        samples.Add(new("laptop", "gpt-oss:20b", "2xx", first.AddDays(-3), 40, 20_000, 6_000));
        samples.Add(new("openwebui", "qwen3-coder:480b", "5xx", first.AddDays(-3), 3, 0, 0));
        samples.Add(new("laptop", "gpt-oss:20b", "2xx", first.AddDays(-20), 12, 5_000, 1_500));
        return new CannedUsage(samples);
    }

    /// <summary>The JSON answer to <c>usage?since=<paramref name="range"/>&amp;by=<paramref name="by"/></c>.</summary>
    public string Answer(string range, string by)
    {
        var asked = by.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var dimensions = DimensionOrder.Where(asked.Contains).ToArray();
        var rows = new JsonArray();
        foreach (var group in In(range).GroupBy(s => string.Join('\n', dimensions.Select(d => Dimension(s, d)))))
        {
            var row = new JsonObject();
            foreach (var dimension in dimensions)
            {
                row[dimension] = Dimension(group.First(), dimension);
            }

            AddFigures(row, group.ToList());
            rows.Add(row);
        }

        var total = new JsonObject();
        AddFigures(total, In(range).ToList());
        var answer = new JsonObject
        {
            ["since"] = Since(range).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
            ["until"] = null,
            ["by"] = new JsonArray(dimensions.Select(d => (JsonNode)JsonValue.Create(d)).ToArray()),
            ["rows"] = rows,
            ["total"] = total,
        };
        return answer.ToJsonString();
    }

    private static string Dimension(UsageSample sample, string dimension) => dimension switch
    {
        "client" => sample.Client,
        "model" => sample.Model,
        "status" => sample.Status,
        "hour" => sample.Hour.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        _ => throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "not canned"),
    };

    private static void AddFigures(JsonObject row, List<UsageSample> samples)
    {
        row["requests"] = samples.Sum(s => s.Requests);
        row["prompt_tokens"] = samples.Sum(s => s.PromptTokens);
        row["completion_tokens"] = samples.Sum(s => s.CompletionTokens);
        row["unknown_token_requests"] = samples.Where(s => s.Status != "2xx").Sum(s => s.Requests);
        row["avg_ttfb_ms"] = 120.5;
        row["avg_duration_ms"] = 900.25;
        row["max_duration_ms"] = 1500;
    }
}
