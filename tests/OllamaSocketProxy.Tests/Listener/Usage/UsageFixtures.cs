using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>Records, clocks, a logger that keeps its lines, and raw access to a usage database file.</summary>
internal static class UsageFixtures
{
    /// <summary>13:20 UTC, a third into an hour, so that minutes on either side stay in it.</summary>
    public static readonly DateTimeOffset Start = new(2025, 6, 1, 13, 20, 0, TimeSpan.Zero);

    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    public static FakeTimeProvider Clock() => new(Start);

    public static UsageRecord Record(
        DateTimeOffset? at = null,
        string client = "alice",
        string model = "gemma3:4b",
        string key = "key-1",
        string route = "/api/chat",
        int status = 200,
        long? prompt = 10,
        long? completion = 20,
        double ttfbMs = 100,
        double durationMs = 1000) =>
        new(at ?? Start, client, model, key, route, status, prompt, completion, TimeSpan.FromMilliseconds(ttfbMs), TimeSpan.FromMilliseconds(durationMs));

    /// <summary>The records summed by row, as the recorder's rows sum them.</summary>
    public static Dictionary<UsageRollupKey, UsageRollup> Rollups(params UsageRecord[] records)
    {
        var rows = new Dictionary<UsageRollupKey, UsageCell>();
        foreach (var record in records)
        {
            var key = UsageRollupKey.For(record);
            if (!rows.TryGetValue(key, out var row))
            {
                rows[key] = row = new UsageCell(key);
            }

            row.Add(record);
        }

        return rows.ToDictionary(pair => pair.Key, pair => pair.Value.TryTakeUnwritten(out _, out var sums) ? sums : default);
    }

    public static UsageQueryResult Query(string path, UsageGrouping by = UsageGrouping.None, DateTimeOffset? since = null, DateTimeOffset? until = null)
    {
        using var store = new UsageStore(path, TimeProvider.System, new LogLines());
        return store.Query(new UsageQuery(since, until, by));
    }

    /// <summary>A connection of the test's own, outside the store.</summary>
    public static SqliteConnection Connect(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>A logger whose lines (level, then message) are kept for the test to read.</summary>
    public sealed class LogLines : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();
        private readonly RecordingLogger _logger;

        public LogLines() => _logger = new RecordingLogger("usage", _lines.Enqueue);

        public IReadOnlyList<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _logger.Log(logLevel, eventId, state, exception, formatter);
    }
}
