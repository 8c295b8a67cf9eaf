namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// The columns a query can group by, in the order they are printed and sorted, with their names in the CLI and JSON
/// and their columns in the store. The hour comes first, so a series over time reads oldest first.
/// </summary>
internal static class UsageDimensions
{
    public static readonly (UsageGrouping Flag, string Name, string Column)[] All =
    [
        (UsageGrouping.Hour, "hour", "hour"),
        (UsageGrouping.Client, "client", "client"),
        (UsageGrouping.Model, "model", "model"),
        (UsageGrouping.Key, "key", "key_label"),
        (UsageGrouping.Route, "route", "route"),
        (UsageGrouping.Status, "status", "status_class"),
    ];

    /// <summary>The names <see cref="TryParse"/> takes, for a message that lists them.</summary>
    public const string Listed = "hour, client, model, key, route and status";

    /// <summary>Parses <c>client,model</c> (any case, spaces allowed); empty or <c>none</c> is <see cref="UsageGrouping.None"/>.</summary>
    public static bool TryParse(string text, out UsageGrouping grouping)
    {
        grouping = UsageGrouping.None;
        if (text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var found = UsageGrouping.None;
            foreach (var (flag, name, _) in All)
            {
                if (part.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    found = flag;
                }
            }

            if (found == UsageGrouping.None)
            {
                return false;
            }

            grouping |= found;
        }

        return true;
    }

    /// <summary>The names of the flags in <paramref name="grouping"/>, in printing order.</summary>
    public static List<string> Names(UsageGrouping grouping)
    {
        var names = new List<string>();
        foreach (var (flag, name, _) in All)
        {
            if ((grouping & flag) != 0)
            {
                names.Add(name);
            }
        }

        return names;
    }
}
