using System.Globalization;
using Microsoft.Data.Sqlite;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>The schema and its migrations, versioned by <c>PRAGMA user_version</c>.</summary>
public sealed partial class UsageStore
{
    /// <summary>The schema this build writes; a file at a lower version is migrated on open, one at a higher refused.</summary>
    public const int SchemaVersion = 2;

    /// <summary>Step <c>i</c> takes the schema from version <c>i</c> to <c>i + 1</c>; version 0 is an empty file.</summary>
    private static readonly string[] s_migrations =
    [
        // 0 → 1: the hourly rollups. hour is Unix seconds at the start of the hour, UTC; times are microseconds.
        """
        CREATE TABLE usage_hourly (
            hour INTEGER NOT NULL,
            client TEXT NOT NULL,
            model TEXT NOT NULL,
            key_label TEXT NOT NULL,
            route TEXT NOT NULL,
            status_class TEXT NOT NULL,
            requests INTEGER NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            unknown_token_requests INTEGER NOT NULL,
            ttfb_us_sum INTEGER NOT NULL,
            duration_us_sum INTEGER NOT NULL,
            PRIMARY KEY (hour, client, model, key_label, route, status_class)
        ) WITHOUT ROWID;
        """,

        // 1 → 2: the longest request of each row; rows from before it read 0.
        "ALTER TABLE usage_hourly ADD COLUMN duration_us_max INTEGER NOT NULL DEFAULT 0;",
    ];

    /// <summary>Brings the schema of <paramref name="connection"/>'s file to <see cref="SchemaVersion"/>, in one transaction.</summary>
    private void Migrate(SqliteConnection connection)
    {
        if (KnownVersion(SchemaVersionOf(connection, null)) == SchemaVersion)
        {
            return;
        }

        // BEGIN IMMEDIATE takes the write lock first; the version is read again under it, since another process
        // (the CLI, a second proxy) may have migrated the file in between.
        using var transaction = connection.BeginTransaction(deferred: false);
        var from = KnownVersion(SchemaVersionOf(connection, transaction));
        for (var version = from; version < SchemaVersion; version++)
        {
            Execute(connection, transaction, s_migrations[version]);
        }

        // user_version is part of the file's header, so it commits (or rolls back) with the steps.
        Execute(connection, transaction, string.Create(CultureInfo.InvariantCulture, $"PRAGMA user_version = {SchemaVersion}"));
        transaction.Commit();
        if (from < SchemaVersion)
        {
            UsageStoreLog.Migrated(_logger, Path, from, SchemaVersion);
        }
    }

    private int KnownVersion(int found) => found is >= 0 and <= SchemaVersion
        ? found
        : throw new UsageStoreException(
            $"{Path} has schema version {found}, which this build does not know (it writes {SchemaVersion}): a newer release wrote it");

    private static int SchemaVersionOf(SqliteConnection connection, SqliteTransaction? transaction) =>
        (int)Scalar(connection, transaction, "PRAGMA user_version");
}
