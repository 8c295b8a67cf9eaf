using System.Globalization;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>A query's answer for people (an aligned table with a total line) and for spreadsheets (CSV, RFC 4180).</summary>
public static class UsageQueryText
{
    private static readonly string[] s_figures =
        ["requests", "prompt_tokens", "completion_tokens", "unknown_token_requests", "avg_ttfb_ms", "avg_duration_ms", "max_duration_ms"];

    /// <summary>One line per row, columns padded to their widest cell, figures right-aligned, then the total.</summary>
    public static void WriteTable(TextWriter output, UsageQueryResult result)
    {
        var names = UsageDimensions.Names(result.Query.By);
        var header = new List<string>(names);
        header.AddRange(s_figures);
        var lines = new List<string[]> { header.ToArray() };
        foreach (var row in result.Rows)
        {
            lines.Add(Cells(row, result.Query.By, "0.0"));
        }

        // Grouped by nothing, the one row is the total already.
        if (names.Count > 0)
        {
            var total = Cells(result.Total, UsageGrouping.None, "0.0");
            lines.Add(["total", .. Enumerable.Repeat("", names.Count - 1), .. total]);
        }

        var widths = new int[header.Count];
        foreach (var line in lines)
        {
            for (var i = 0; i < line.Length; i++)
            {
                widths[i] = Math.Max(widths[i], line[i].Length);
            }
        }

        foreach (var line in lines)
        {
            var cells = new string[line.Length];
            for (var i = 0; i < line.Length; i++)
            {
                cells[i] = i < names.Count ? line[i].PadRight(widths[i]) : line[i].PadLeft(widths[i]);
            }

            output.WriteLine(string.Join("  ", cells).TrimEnd());
        }
    }

    /// <summary>A header line, then one line per row; no total (a spreadsheet sums by itself).</summary>
    public static void WriteCsv(TextWriter output, UsageQueryResult result)
    {
        var header = new List<string>(UsageDimensions.Names(result.Query.By));
        header.AddRange(s_figures);
        output.Write(string.Join(',', header));
        output.Write("\r\n");
        foreach (var row in result.Rows)
        {
            var cells = Cells(row, result.Query.By, "0.###");
            for (var i = 0; i < cells.Length; i++)
            {
                cells[i] = Quoted(cells[i]);
            }

            output.Write(string.Join(',', cells));
            output.Write("\r\n");
        }
    }

    private static string[] Cells(UsageQueryRow row, UsageGrouping by, string milliseconds)
    {
        var cells = new List<string>();
        foreach (var (flag, _, _) in UsageDimensions.All)
        {
            if ((by & flag) != 0)
            {
                cells.Add(row.Column(flag) ?? "");
            }
        }

        var culture = CultureInfo.InvariantCulture;
        cells.Add(row.Requests.ToString(culture));
        cells.Add(row.PromptTokens.ToString(culture));
        cells.Add(row.CompletionTokens.ToString(culture));
        cells.Add(row.UnknownTokenRequests.ToString(culture));
        cells.Add(row.AverageTimeToFirstByteMilliseconds.ToString(milliseconds, culture));
        cells.Add(row.AverageDurationMilliseconds.ToString(milliseconds, culture));
        cells.Add(row.MaxDurationMilliseconds.ToString(milliseconds, culture));
        return [.. cells];
    }

    /// <summary>RFC 4180 §2: a field holding a comma, a quote or a line break is quoted, its quotes doubled.</summary>
    private static string Quoted(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
}
