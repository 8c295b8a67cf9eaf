using System.Text.Json;
using OllamaSocketProxy.Listener.Usage;
using static OllamaSocketProxy.Tests.Listener.Usage.UsageFixtures;

namespace OllamaSocketProxy.Tests.Listener.Usage;

[Parallelizable(ParallelScope.All)]
public sealed class UsageQueryJsonTests
{
    [Test]
    public void Result_IsWrittenWithTheGroupedColumnsFiguresAndTotal()
    {
        var rows = new[]
        {
            new UsageQueryRow
            {
                Client = "alice", Model = "gemma3:4b", Requests = 4, PromptTokens = 40, CompletionTokens = 80, UnknownTokenRequests = 1,
                TimeToFirstByteMicroseconds = 1_000_500, DurationMicroseconds = 4_000_000, MaxDurationMicroseconds = 2_500_000,
            },
            new UsageQueryRow { Client = "bob \"b\"", Model = "-", Requests = 1, DurationMicroseconds = 1000, MaxDurationMicroseconds = 1000 },
        };
        var query = new UsageQuery(Start, null, UsageGrouping.Client | UsageGrouping.Model);

        using var json = JsonDocument.Parse(UsageQueryJson.ToUtf8(new UsageQueryResult(query, rows, UsageQueryRow.Total(rows))));

        var root = json.RootElement;
        var first = root.GetProperty("rows")[0];
        var total = root.GetProperty("total");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(root.GetProperty("since").GetDateTimeOffset(), Is.EqualTo(new DateTimeOffset(2025, 6, 1, 13, 0, 0, TimeSpan.Zero)), "the start of the hour");
            Assert.That(root.GetProperty("until").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(root.GetProperty("by").EnumerateArray().Select(name => name.GetString()), Is.EqualTo(new[] { "client", "model" }));
            Assert.That(first.EnumerateObject().Select(property => property.Name), Is.EqualTo(new[]
            {
                "client", "model", "requests", "prompt_tokens", "completion_tokens", "unknown_token_requests",
                "avg_ttfb_ms", "avg_duration_ms", "max_duration_ms",
            }));
            Assert.That(first.GetProperty("client").GetString(), Is.EqualTo("alice"));
            Assert.That(first.GetProperty("requests").GetInt64(), Is.EqualTo(4));
            Assert.That(first.GetProperty("unknown_token_requests").GetInt64(), Is.EqualTo(1));
            Assert.That(first.GetProperty("avg_ttfb_ms").GetDouble(), Is.EqualTo(250.125));
            Assert.That(first.GetProperty("avg_duration_ms").GetDouble(), Is.EqualTo(1000));
            Assert.That(first.GetProperty("max_duration_ms").GetDouble(), Is.EqualTo(2500));
            Assert.That(root.GetProperty("rows")[1].GetProperty("client").GetString(), Is.EqualTo("bob \"b\""));
            Assert.That(total.TryGetProperty("client", out _), Is.False);
            Assert.That(total.GetProperty("requests").GetInt64(), Is.EqualTo(5));
            Assert.That(total.GetProperty("prompt_tokens").GetInt64(), Is.EqualTo(40));
            Assert.That(total.GetProperty("avg_duration_ms").GetDouble(), Is.EqualTo(800.2));
            Assert.That(total.GetProperty("max_duration_ms").GetDouble(), Is.EqualTo(2500));
        }
    }

    [Test]
    public void ByHour_WritesTheHourFirstAsIsoUtc()
    {
        var rows = new[]
        {
            new UsageQueryRow { Hour = new DateTimeOffset(2026, 12, 6, 5, 0, 0, TimeSpan.Zero), Client = "alice", Requests = 2 },
        };
        var query = new UsageQuery(null, null, UsageGrouping.Client | UsageGrouping.Hour);

        using var json = JsonDocument.Parse(UsageQueryJson.ToUtf8(new UsageQueryResult(query, rows, UsageQueryRow.Total(rows))));

        var root = json.RootElement;
        var row = root.GetProperty("rows")[0];
        using (Assert.EnterMultipleScope())
        {
            Assert.That(root.GetProperty("by").EnumerateArray().Select(name => name.GetString()), Is.EqualTo(new[] { "hour", "client" }));
            Assert.That(row.EnumerateObject().Select(property => property.Name).Take(3), Is.EqualTo(new[] { "hour", "client", "requests" }));
            Assert.That(row.GetProperty("hour").GetString(), Is.EqualTo("2026-12-06T05:00:00Z"));
            Assert.That(root.GetProperty("total").TryGetProperty("hour", out _), Is.False);
        }
    }

    [Test]
    public void EmptyResult_HasNoRowsAndAZeroTotal()
    {
        var query = new UsageQuery(null, Start, UsageGrouping.None);

        using var json = JsonDocument.Parse(UsageQueryJson.ToUtf8(new UsageQueryResult(query, [], UsageQueryRow.Total([]))));

        var root = json.RootElement;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(root.GetProperty("since").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(root.GetProperty("until").GetDateTimeOffset(), Is.EqualTo(Start));
            Assert.That(root.GetProperty("by").GetArrayLength(), Is.Zero);
            Assert.That(root.GetProperty("rows").GetArrayLength(), Is.Zero);
            Assert.That(root.GetProperty("total").GetProperty("requests").GetInt64(), Is.Zero);
            Assert.That(root.GetProperty("total").GetProperty("avg_duration_ms").GetDouble(), Is.Zero);
        }
    }
}
