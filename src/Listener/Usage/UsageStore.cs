using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// The usage database: one SQLite file in WAL mode holding hourly rollups, one row per hour × client × model × key ×
/// route × status class (<see cref="UsageRollupKey"/>). Rows older than the retention are dropped.
/// </summary>
/// <remarks>
/// <see cref="Open"/> and <see cref="Write"/> belong to one thread, the writer of <see cref="UsageRecorder"/>: they
/// share one connection. <see cref="Query"/> opens a connection of its own, so it may run on any thread at the same
/// time; in WAL mode a reader never waits for the writer, nor the writer for a reader.
/// A failure throws (<see cref="SqliteException"/>, <see cref="UsageStoreException"/>) and closes the connection, so
/// the next call opens the file afresh: a database that was locked, full or replaced is picked up again by itself.
/// </remarks>
public sealed partial class UsageStore : IDisposable
{
    /// <summary>The value of <c>PROXY_USAGE_DB</c> that turns the store off.</summary>
    public const string Off = "off";

    /// <summary>The file when <c>PROXY_USAGE_DB</c> is not set: in the working directory.</summary>
    public const string DefaultPath = "usage.db";

    /// <summary>How long rows are kept when <c>PROXY_USAGE_RETENTION_DAYS</c> is not set.</summary>
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(400);

    /// <summary>
    /// How long a statement waits for another connection's write lock before it fails with SQLITE_BUSY (whole seconds;
    /// 0 would mean forever). The writer thread is the only one that waits.
    /// </summary>
    private const int BusyTimeoutSeconds = 1;

    private static readonly TimeSpan s_pruneInterval = TimeSpan.FromHours(1);

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private SqliteConnection? _connection;
    private DateTimeOffset _nextPrune = DateTimeOffset.MinValue;

    /// <param name="path">The database file; created with its folder's permissions when missing.</param>
    /// <param name="retention">How long rows are kept; <see cref="DefaultRetention"/> when null.</param>
    public UsageStore(string path, TimeProvider time, ILogger logger, TimeSpan? retention = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(retention ?? DefaultRetention, TimeSpan.Zero, nameof(retention));
        Path = path;
        Retention = retention ?? DefaultRetention;
        _time = time;
        _logger = logger;
    }

    public string Path { get; }

    public TimeSpan Retention { get; }

    /// <summary>
    /// Opens the file (creating it when missing), switches it to WAL, migrates its schema and drops expired rows.
    /// Does nothing when already open.
    /// </summary>
    public void Open()
    {
        if (_connection is not null)
        {
            return;
        }

        var connection = new SqliteConnection(ConnectionString(SqliteOpenMode.ReadWriteCreate));
        try
        {
            connection.Open();

            // WAL: the CLI and /usage read while the proxy writes, neither waiting for the other. synchronous=NORMAL:
            // in WAL mode a commit then survives the process being killed (only a power cut can lose the last ones),
            // without an fsync per commit (https://www.sqlite.org/pragma.html#pragma_synchronous).
            Execute(connection, null, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
            Migrate(connection);
            _connection = connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        PruneIfDue(force: true);
    }

    /// <summary>
    /// Adds <paramref name="rollups"/> to their rows, all in one transaction: either every one is counted or none
    /// is (then the caller keeps them for its next try). Drops expired rows once an hour.
    /// </summary>
    public void Write(IReadOnlyCollection<KeyValuePair<UsageRollupKey, UsageRollup>> rollups)
    {
        Open();
        var connection = _connection!;
        try
        {
            using var transaction = connection.BeginTransaction();
            using var upsert = connection.CreateCommand();
            upsert.Transaction = transaction;
            upsert.CommandText = """
                INSERT INTO usage_hourly (hour, client, model, key_label, route, status_class, requests, prompt_tokens,
                    completion_tokens, unknown_token_requests, ttfb_us_sum, duration_us_sum, duration_us_max)
                VALUES ($hour, $client, $model, $key, $route, $status, $requests, $prompt, $completion, $unknown, $ttfb,
                    $duration, $max)
                ON CONFLICT (hour, client, model, key_label, route, status_class) DO UPDATE SET
                    requests = requests + excluded.requests,
                    prompt_tokens = prompt_tokens + excluded.prompt_tokens,
                    completion_tokens = completion_tokens + excluded.completion_tokens,
                    unknown_token_requests = unknown_token_requests + excluded.unknown_token_requests,
                    ttfb_us_sum = ttfb_us_sum + excluded.ttfb_us_sum,
                    duration_us_sum = duration_us_sum + excluded.duration_us_sum,
                    duration_us_max = max(duration_us_max, excluded.duration_us_max)
                """;
            var hour = upsert.Parameters.Add("$hour", SqliteType.Integer);
            var client = upsert.Parameters.Add("$client", SqliteType.Text);
            var model = upsert.Parameters.Add("$model", SqliteType.Text);
            var key = upsert.Parameters.Add("$key", SqliteType.Text);
            var route = upsert.Parameters.Add("$route", SqliteType.Text);
            var status = upsert.Parameters.Add("$status", SqliteType.Text);
            var requests = upsert.Parameters.Add("$requests", SqliteType.Integer);
            var prompt = upsert.Parameters.Add("$prompt", SqliteType.Integer);
            var completion = upsert.Parameters.Add("$completion", SqliteType.Integer);
            var unknown = upsert.Parameters.Add("$unknown", SqliteType.Integer);
            var ttfb = upsert.Parameters.Add("$ttfb", SqliteType.Integer);
            var duration = upsert.Parameters.Add("$duration", SqliteType.Integer);
            var max = upsert.Parameters.Add("$max", SqliteType.Integer);
            upsert.Prepare();

            foreach (var (row, sums) in rollups)
            {
                hour.Value = row.Hour;
                client.Value = row.Client;
                model.Value = row.Model;
                key.Value = row.Key;
                route.Value = row.Route;
                status.Value = row.StatusClass;
                requests.Value = sums.Requests;
                prompt.Value = sums.PromptTokens;
                completion.Value = sums.CompletionTokens;
                unknown.Value = sums.UnknownTokenRequests;
                ttfb.Value = sums.TimeToFirstByteMicroseconds;
                duration.Value = sums.DurationMicroseconds;
                max.Value = sums.MaxDurationMicroseconds;
                upsert.ExecuteNonQuery();
            }

            transaction.Commit();
        }
        catch
        {
            Close();
            throw;
        }

        PruneIfDue(force: false);
    }

    public void Dispose() => Close();

    /// <summary>Drops the rows whose hour started before the retention; the first time on open, then once an hour.</summary>
    private void PruneIfDue(bool force)
    {
        var now = _time.GetUtcNow();
        if (!force && now < _nextPrune)
        {
            return;
        }

        try
        {
            using var delete = _connection!.CreateCommand();
            delete.CommandText = "DELETE FROM usage_hourly WHERE hour < $cutoff";
            delete.Parameters.AddWithValue("$cutoff", UsageRollupKey.HourOf(now - Retention));
            var rows = delete.ExecuteNonQuery();
            _nextPrune = now + s_pruneInterval;
            if (rows > 0)
            {
                UsageStoreLog.Pruned(_logger, Path, rows, (int)Retention.TotalDays);
            }
        }
        catch
        {
            Close();
            throw;
        }
    }

    private void Close()
    {
        _connection?.Dispose();
        _connection = null;
    }

    private string ConnectionString(SqliteOpenMode mode) => new SqliteConnectionStringBuilder
    {
        DataSource = Path,
        Mode = mode,

        // A closed connection releases the file at once: a file replaced after a failure is opened afresh.
        Pooling = false,
        DefaultTimeout = BusyTimeoutSeconds,
    }.ToString();

    private static int Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
