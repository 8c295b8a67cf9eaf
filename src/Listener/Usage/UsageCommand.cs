using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// <c>OllamaSocketProxy usage</c>: prints the totals from the usage database, as a table or CSV. The database is
/// <c>--db</c>, else <c>PROXY_USAGE_DB</c>, else <c>usage.db</c> in the working directory. Exit codes: 0 done, 1
/// failed (one line on the error writer), 2 wrong arguments (with the usage).
/// </summary>
internal static class UsageCommand
{
    public const int Succeeded = 0;
    public const int Failed = 1;
    public const int WrongUsage = 2;

    private const string Usage = """
        usage: OllamaSocketProxy usage [--since WHEN] [--until WHEN] [--by COLUMNS] [--csv] [--db PATH]
        Prints the requests, tokens and times counted in the usage database, summed by COLUMNS: any of hour, client,
        model, key, route and status, separated by commas (client,model when not given; none for one total); hour
        splits the totals by the hour they were counted in (its start, UTC), oldest first.
        WHEN is an age (36h, 7d, 2w) or a UTC date or time (2025-06-01, 2025-06-01T13:00); rows are hours, so --since
        counts from the start of its hour. Without --since, all rows the retention kept; without --until, up to now.
        The database is PATH, else PROXY_USAGE_DB, else usage.db in the working directory.
        """;

    /// <summary>Runs the command in <paramref name="args"/> (the arguments after <c>usage</c>).</summary>
    /// <param name="time">The clock ages are counted back from; the system's when null.</param>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error, IReadOnlyDictionary<string, string?> environment, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        if (args.Count == 1 && args[0] is "-h" or "--help" or "help")
        {
            output.WriteLine(Usage);
            return Succeeded;
        }

        Arguments arguments;
        try
        {
            arguments = Arguments.Parse(args, time.GetUtcNow());
        }
        catch (CommandUsageException e)
        {
            error.WriteLine($"OllamaSocketProxy usage: {e.Message}");
            error.WriteLine(Usage);
            return WrongUsage;
        }

        var path = arguments.Database ?? Variable(environment, "PROXY_USAGE_DB") ?? UsageStore.DefaultPath;
        if (arguments.Database is null && path.Equals(UsageStore.Off, StringComparison.OrdinalIgnoreCase))
        {
            error.WriteLine("OllamaSocketProxy usage: PROXY_USAGE_DB is off, so the proxy counts no usage; pass --db PATH to read a database");
            return Failed;
        }

        if (!File.Exists(path))
        {
            error.WriteLine($"OllamaSocketProxy usage: no usage database at {Path.GetFullPath(path)} (pass --db PATH or set PROXY_USAGE_DB)");
            return Failed;
        }

        UsageQueryResult result;
        try
        {
            using var store = new UsageStore(path, time, NullLogger.Instance);
            result = store.Query(new UsageQuery(arguments.Since, arguments.Until, arguments.By));
        }
        catch (SqliteException e)
        {
            error.WriteLine($"OllamaSocketProxy usage: {path}: {e.Message}");
            return Failed;
        }
        catch (UsageStoreException e)
        {
            error.WriteLine($"OllamaSocketProxy usage: {e.Message}");
            return Failed;
        }
        catch (TypeInitializationException e) when (e.GetBaseException() is DllNotFoundException missing)
        {
            // The native SQLite library ships beside the executable (libe_sqlite3.so in the publish folder).
            error.WriteLine($"OllamaSocketProxy usage: SQLite cannot be loaded: {missing.Message.Split('\n')[0]}");
            return Failed;
        }

        if (arguments.Csv)
        {
            UsageQueryText.WriteCsv(output, result);
        }
        else if (result.Rows.Count == 0)
        {
            output.WriteLine($"No requests counted {Range(result.Query)}.");
        }
        else
        {
            output.WriteLine($"Usage {Range(result.Query)}, from {path}:");
            UsageQueryText.WriteTable(output, result);
        }

        return Succeeded;
    }

    /// <summary><c>7d</c>, <c>36h</c>, <c>2w</c> back from <paramref name="now"/>, or a date or time, UTC unless it names an offset.</summary>
    internal static bool TryParseTime(string text, DateTimeOffset now, out DateTimeOffset time)
    {
        var unit = text.Length > 1 ? char.ToLowerInvariant(text[^1]) : '\0';
        var hours = unit switch { 'h' => 1, 'd' => 24, 'w' => 24 * 7, _ => 0 };
        if (hours > 0 && int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            // A century back is far past any retention; more would only overflow the clock.
            var valid = count <= 100 * 366 * 24 / hours;
            time = valid ? now - TimeSpan.FromHours((double)count * hours) : default;
            return valid;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }

    private static string Range(UsageQuery query)
    {
        var since = query.Since is { } from ? $"since {Utc(DateTimeOffset.FromUnixTimeSeconds(UsageRollupKey.HourOf(from)))}" : "in all kept hours";
        return query.Until is { } until ? $"{since} until {Utc(until)}" : since;
    }

    private static string Utc(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    private static string? Variable(IReadOnlyDictionary<string, string?> environment, string name) =>
        environment.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private sealed class Arguments
    {
        public DateTimeOffset? Since { get; private set; }
        public DateTimeOffset? Until { get; private set; }
        public UsageGrouping By { get; private set; } = UsageGrouping.Client | UsageGrouping.Model;
        public bool Csv { get; private set; }
        public string? Database { get; private set; }

        public static Arguments Parse(IReadOnlyList<string> args, DateTimeOffset now)
        {
            var arguments = new Arguments();
            var reader = new CommandArguments(args, start: 0);
            while (reader.MoveNext())
            {
                var arg = reader.Current;
                var option = reader.Option;

                switch (option)
                {
                    case "--since":
                        arguments.Since = Time(option, reader.Value(), now);
                        break;
                    case "--until":
                        arguments.Until = Time(option, reader.Value(), now);
                        break;
                    case "--by":
                        arguments.By = UsageDimensions.TryParse(reader.Value(), out var by)
                            ? by
                            : throw new CommandUsageException($"--by takes {UsageDimensions.Listed}, separated by commas, or none");
                        break;
                    case "--csv" when !reader.HasInlineValue:
                        arguments.Csv = true;
                        break;
                    case "--db":
                        arguments.Database = reader.Value() is { Length: > 0 } database ? database : throw new CommandUsageException("--db needs a path");
                        break;
                    default:
                        throw new CommandUsageException(arg.StartsWith('-') ? $"unknown option {option}" : $"unexpected argument \"{arg}\"");
                }
            }

            if (arguments is { Since: { } since, Until: { } until } && until <= since)
            {
                throw new CommandUsageException("--until must be later than --since");
            }

            return arguments;
        }

        private static DateTimeOffset Time(string option, string value, DateTimeOffset now) =>
            TryParseTime(value.Trim(), now, out var time)
                ? time
                : throw new CommandUsageException($"{option} takes an age (36h, 7d, 2w) or a UTC date or time (2025-06-01, 2025-06-01T13:00)");
    }

}
