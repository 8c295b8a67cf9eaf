using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Listener.Gateway;
using static OllamaSocketProxy.Tests.Listener.Usage.UsageFixtures;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>The usage database on a real file: rows, rollup, retention, schema, queries.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class UsageStoreTests
{
    [Test]
    public void Open_CreatesTheFileInWalModeAtTheCurrentSchemaVersion()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");

        using (var store = new UsageStore(path, Clock(), new LogLines()))
        {
            store.Open();
        }

        using var connection = Connect(path);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Scalar(connection, "PRAGMA user_version"), Is.EqualTo(UsageStore.SchemaVersion));
            Assert.That(Scalar(connection, "SELECT count(*) FROM usage_hourly"), Is.Zero);
            using var mode = connection.CreateCommand();
            mode.CommandText = "PRAGMA journal_mode";
            Assert.That(mode.ExecuteScalar(), Is.EqualTo("wal"));
        }
    }

    [Test]
    public void Write_SumsRecordsOfOneHourIntoOneRowPerColumnsAndStatusClass()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        var hour = UsageRollupKey.HourOf(Start);

        using (var store = new UsageStore(path, Clock(), new LogLines()))
        {
            store.Write(Rollups(
                Record(at: Start.AddMinutes(-20), prompt: 1, completion: 2, ttfbMs: 10, durationMs: 100),
                Record(at: Start.AddMinutes(39), prompt: 3, completion: 4, ttfbMs: 30, durationMs: 300),
                Record(at: Start.AddMinutes(39), status: 201, prompt: null, completion: null, ttfbMs: 20, durationMs: 200),
                Record(at: Start.AddMinutes(40), prompt: 100, completion: 100),
                Record(at: Start, status: 404),
                Record(at: Start, status: 503)));
        }

        using var connection = Connect(path);
        using var rows = connection.CreateCommand();
        rows.CommandText = """
            SELECT hour, status_class, requests, prompt_tokens, completion_tokens, unknown_token_requests, ttfb_us_sum, duration_us_sum, duration_us_max
            FROM usage_hourly ORDER BY hour, status_class
            """;
        using var reader = rows.ExecuteReader();
        var found = new List<string>();
        while (reader.Read())
        {
            found.Add(string.Join(' ', Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetValue(i))));
        }

        Assert.That(found, Is.EqualTo(new[]
        {
            // 13:00 to 13:59: 13:00, 13:59 and 13:59 (a 201 is 2xx too; it had no token counts).
            $"{hour} 2xx 3 4 6 1 60000 600000 300000",
            $"{hour} 4xx 1 10 20 0 100000 1000000 1000000",
            $"{hour} 5xx 1 10 20 0 100000 1000000 1000000",

            // 14:00 is the next hour.
            $"{hour + 3600} 2xx 1 100 100 0 100000 1000000 1000000",
        }));
    }

    [Test]
    public void WriteAfterReopening_AddsToTheRowsAlreadyThere()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");

        using (var store = new UsageStore(path, Clock(), new LogLines()))
        {
            store.Write(Rollups(Record(prompt: 1, completion: 2, durationMs: 500)));
        }

        using (var store = new UsageStore(path, Clock(), new LogLines()))
        {
            store.Write(Rollups(Record(prompt: 10, completion: 20, durationMs: 2000), Record(client: "bob")));
        }

        var rows = Query(path, UsageGrouping.Client).Rows;
        Assert.That(rows.Select(row => (row.Client, row.Requests, row.PromptTokens, row.CompletionTokens, row.MaxDurationMilliseconds)), Is.EqualTo(new[]
        {
            ("alice", 2L, 11L, 22L, 2000.0),
            ("bob", 1L, 10L, 20L, 1000.0),
        }));
    }

    [Test]
    public void RowsOlderThanTheRetention_AreDroppedOnOpenAndThenHourly()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        var time = Clock();
        var logs = new LogLines();
        using (var store = new UsageStore(path, time, logs, TimeSpan.FromDays(2)))
        {
            store.Write(Rollups(
                Record(at: Start.AddDays(-3), client: "old"),
                Record(at: Start.AddDays(-1), client: "recent"),
                Record(client: "now")));

            // Written, not yet pruned: the next prune is an hour after the one on open.
            Assert.That(Clients(path), Is.EqualTo(new[] { "now", "old", "recent" }));

            time.Advance(TimeSpan.FromHours(1));
            store.Write(Rollups(Record(client: "now")));
            Assert.That(Clients(path), Is.EqualTo(new[] { "now", "recent" }));
        }

        time.Advance(TimeSpan.FromDays(1));
        using (var store = new UsageStore(path, time, logs, TimeSpan.FromDays(2)))
        {
            store.Open();
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Clients(path), Is.EqualTo(new[] { "now" }));
            Assert.That(logs.Lines, Has.Exactly(2).Contains("older than 2 days dropped"));
        }

        static List<string?> Clients(string path) => [.. Query(path, UsageGrouping.Client).Rows.Select(row => row.Client)];
    }

    [Test]
    public void FileAtVersion1_IsMigratedKeepingItsRows()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        var hour = UsageRollupKey.HourOf(Start);
        using (var old = Connect(path))
        {
            // The table as schema version 1 made it: no duration_us_max.
            Execute(old, """
                CREATE TABLE usage_hourly (
                    hour INTEGER NOT NULL, client TEXT NOT NULL, model TEXT NOT NULL, key_label TEXT NOT NULL,
                    route TEXT NOT NULL, status_class TEXT NOT NULL, requests INTEGER NOT NULL,
                    prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
                    unknown_token_requests INTEGER NOT NULL, ttfb_us_sum INTEGER NOT NULL, duration_us_sum INTEGER NOT NULL,
                    PRIMARY KEY (hour, client, model, key_label, route, status_class)
                ) WITHOUT ROWID;
                PRAGMA user_version = 1;
                """);
            Execute(old, $"INSERT INTO usage_hourly VALUES ({hour}, 'alice', 'gemma3:4b', 'key-1', '/api/chat', '2xx', 4, 40, 80, 1, 400000, 4000000)");
        }

        var logs = new LogLines();
        using (var store = new UsageStore(path, Clock(), logs))
        {
            store.Write(Rollups(Record(prompt: 1, completion: 2, durationMs: 3000)));
        }

        using var connection = Connect(path);
        var row = Query(path).Rows.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Scalar(connection, "PRAGMA user_version"), Is.EqualTo(UsageStore.SchemaVersion));
            Assert.That((row.Requests, row.PromptTokens, row.CompletionTokens, row.UnknownTokenRequests), Is.EqualTo((5L, 41L, 82L, 1L)));
            Assert.That(row.AverageDurationMilliseconds, Is.EqualTo(1400.0));
            Assert.That(row.MaxDurationMilliseconds, Is.EqualTo(3000.0), "the old row read 0, the new request set it");
            Assert.That(logs.Lines, Has.Exactly(1).Contains("migrated from schema version 1 to 2"));
        }
    }

    [Test]
    public void UnversionedFileWithOtherTables_GetsTheUsageTableAndKeepsThem()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        using (var old = Connect(path))
        {
            Execute(old, "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('kept');");
        }

        var logs = new LogLines();
        using (var store = new UsageStore(path, Clock(), logs))
        {
            store.Write(Rollups(Record()));
        }

        using var connection = Connect(path);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Scalar(connection, "PRAGMA user_version"), Is.EqualTo(UsageStore.SchemaVersion));
            Assert.That(Scalar(connection, "SELECT count(*) FROM notes"), Is.EqualTo(1));
            Assert.That(Query(path).Rows.Single().Requests, Is.EqualTo(1));
            Assert.That(logs.Lines, Has.Exactly(1).Contains("migrated from schema version 0 to 2"));
        }
    }

    [Test]
    public void FileFromANewerSchema_IsRefusedAndLeftAlone()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        using (var newer = Connect(path))
        {
            Execute(newer, $"CREATE TABLE usage_hourly (hour INTEGER); PRAGMA user_version = {UsageStore.SchemaVersion + 1};");
        }

        using var store = new UsageStore(path, Clock(), new LogLines());
        var refusal = Assert.Throws<UsageStoreException>(store.Open);

        using var connection = Connect(path);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(refusal.Message, Does.Contain($"schema version {UsageStore.SchemaVersion + 1}").And.Contain(path));
            Assert.That(Scalar(connection, "PRAGMA user_version"), Is.EqualTo(UsageStore.SchemaVersion + 1));
        }
    }

    [Test]
    public void Query_GroupsByTheAskedColumnsInTheirOrder()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        using (var store = new UsageStore(path, Clock(), new LogLines()))
        {
            store.Write(Rollups(
                Record(client: "bob", model: "qwen3:8b", key: "key-2", route: "/v1/chat/completions", prompt: null, completion: null),
                Record(client: "alice", model: "qwen3:8b", status: 429),
                Record(client: "alice", model: "gemma3:4b", ttfbMs: 50, durationMs: 500),
                Record(client: "alice", model: "gemma3:4b", ttfbMs: 150, durationMs: 1500)));
        }

        var byClientAndModel = Query(path, UsageGrouping.Model | UsageGrouping.Client);
        var byKeyRouteStatus = Query(path, UsageGrouping.Key | UsageGrouping.Route | UsageGrouping.Status);
        var total = Query(path);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(byClientAndModel.Rows.Select(row => (row.Client, row.Model, row.Key, row.Requests, row.PromptTokens, row.UnknownTokenRequests)), Is.EqualTo(new[]
            {
                ("alice", "gemma3:4b", (string?)null, 2L, 20L, 0L),
                ("alice", "qwen3:8b", null, 1L, 10L, 0L),
                ("bob", "qwen3:8b", null, 1L, 0L, 1L),
            }));
            var gemma = byClientAndModel.Rows[0];
            Assert.That((gemma.AverageTimeToFirstByteMilliseconds, gemma.AverageDurationMilliseconds, gemma.MaxDurationMilliseconds), Is.EqualTo((100.0, 1000.0, 1500.0)));
            Assert.That(byKeyRouteStatus.Rows.Select(row => (row.Client, row.Key, row.Route, row.Status, row.Requests)), Is.EqualTo(new[]
            {
                ((string?)null, "key-1", "/api/chat", "2xx", 2L),
                (null, "key-1", "/api/chat", "4xx", 1L),
                (null, "key-2", "/v1/chat/completions", "2xx", 1L),
            }));
            Assert.That(total.Rows.Single().Requests, Is.EqualTo(4));
            Assert.That((byClientAndModel.Total.Requests, byClientAndModel.Total.PromptTokens, byClientAndModel.Total.CompletionTokens), Is.EqualTo((4L, 30L, 60L)));
        }
    }

    [Test]
    public void QueryByHour_IsOneRowPerHourAndColumns_OldestFirst()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        using (var store = new UsageStore(path, Clock(), new LogLines()))
        {
            store.Write(Rollups(
                Record(at: Start.AddHours(1), client: "bob"),
                Record(at: Start, client: "bob"),
                Record(at: Start.AddMinutes(30), client: "alice", prompt: 5),
                Record(at: Start.AddDays(-1), client: "alice"),
                Record(at: Start.AddMinutes(-10), client: "alice", prompt: 7)));
        }

        var byHourAndClient = Query(path, UsageGrouping.Client | UsageGrouping.Hour);
        var byHour = Query(path, UsageGrouping.Hour, since: Start);

        using (Assert.EnterMultipleScope())
        {
            // 13:20 - 10 min and 13:20 + 30 min are both in the hour of 13:00; the day before comes first.
            Assert.That(byHourAndClient.Rows.Select(row => (row.Column(UsageGrouping.Hour), row.Client, row.Requests, row.PromptTokens)), Is.EqualTo(new[]
            {
                ("2025-05-31T13:00:00Z", "alice", 1L, 10L),
                ("2025-06-01T13:00:00Z", "alice", 2L, 12L),
                ("2025-06-01T13:00:00Z", "bob", 1L, 10L),
                ("2025-06-01T14:00:00Z", "bob", 1L, 10L),
            }));
            Assert.That(byHourAndClient.Rows[0].Hour, Is.EqualTo(new DateTimeOffset(2025, 5, 31, 13, 0, 0, TimeSpan.Zero)));
            Assert.That(byHour.Rows.Select(row => (row.Column(UsageGrouping.Hour), row.Client, row.Requests)), Is.EqualTo(new[]
            {
                ("2025-06-01T13:00:00Z", (string?)null, 3L),
                ("2025-06-01T14:00:00Z", null, 1L),
            }));
            Assert.That(byHour.Total.Hour, Is.Null);
        }
    }

    [Test]
    public void Query_CountsTheHoursFromSinceRoundedDownUntilUntil()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        using (var store = new UsageStore(path, Clock(), new LogLines()))
        {
            store.Write(Rollups(
                Record(at: Start.AddHours(-2), client: "two-hours-ago"),
                Record(at: Start.AddHours(-1), client: "an-hour-ago"),
                Record(at: Start, client: "now")));
        }

        // Since 12:59 counts from 12:00; until 13:00 stops before the hour starting then.
        var window = Query(path, UsageGrouping.Client, since: Start.AddMinutes(-21), until: Start.AddMinutes(-20));
        var sinceOnly = Query(path, UsageGrouping.Client, since: Start.AddHours(-1));
        var none = Query(path, UsageGrouping.Client, since: Start.AddHours(1));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(window.Rows.Select(row => row.Client), Is.EqualTo(new[] { "an-hour-ago" }));
            Assert.That(sinceOnly.Rows.Select(row => row.Client), Is.EqualTo(new[] { "an-hour-ago", "now" }));
            Assert.That(none.Rows, Is.Empty);
            Assert.That(none.Total.Requests, Is.Zero);
        }
    }

    [Test]
    public void QueryWithoutGrouping_OnAnEmptyFile_HasNoRows()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("usage.db");
        using (var store = new UsageStore(path, Clock(), new LogLines()))
        {
            store.Open();
        }

        Assert.That(Query(path).Rows, Is.Empty);
    }

    [Test]
    public void QueryOfAMissingFile_ThrowsAndCreatesNothing()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("missing.db");

        Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() => Query(path));
        Assert.That(File.Exists(path), Is.False);
    }

    [TestCase(99, "-")]
    [TestCase(100, "1xx")]
    [TestCase(200, "2xx")]
    [TestCase(299, "2xx")]
    [TestCase(304, "3xx")]
    [TestCase(429, "4xx")]
    [TestCase(599, "5xx")]
    [TestCase(600, "-")]
    [TestCase(0, "-")]
    public void StatusClass_IsTheFirstDigit(int status, string expected) =>
        Assert.That(UsageStatusClass.Of(status), Is.EqualTo(expected));

    [Test]
    public void HourOf_IsTheStartOfTheHourInUnixSeconds()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(UsageRollupKey.HourOf(Start), Is.EqualTo(new DateTimeOffset(2025, 6, 1, 13, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds()));
            Assert.That(UsageRollupKey.HourOf(new DateTimeOffset(2025, 6, 1, 15, 20, 0, TimeSpan.FromHours(2))), Is.EqualTo(UsageRollupKey.HourOf(Start)));
            Assert.That(UsageRollupKey.HourOf(new DateTimeOffset(2025, 6, 1, 13, 59, 59, 999, TimeSpan.Zero)), Is.EqualTo(UsageRollupKey.HourOf(Start)));
        }
    }
}
