using System.Text.RegularExpressions;
using OllamaSocketProxy.Listener;

namespace OllamaSocketProxy.Tests.Listener.Configuration;

/// <summary>
/// The settings a document lists, read by the rules below, each as the <see cref="SettingDefault"/> it shows.
/// <para>
/// README.md: the table under the header <c>| variable | default | meaning |</c>. A row's first cell is the
/// variable in a code span; its default cell starts with the default in a code span (<c>`130`</c>, a note may
/// follow: <c>`33554432` (32 MiB)</c>), or with <c>— (required)</c> for a setting without which the proxy does not
/// start, or with <c>unset</c> for one that has no default (a note may follow: <c>unset (open)</c>).
/// </para>
/// <para>
/// .env.example: <c>#NAME=value</c>, commented out, shows the default (<c>#PROXY_KEEPALIVE_TIMEOUT=130</c>);
/// <c>#NAME=</c> with nothing after it shows there is none (<see cref="SettingDefault.Unset"/>). An uncommented
/// <c>NAME=value</c> is an example to replace, not a default: it is how a required setting must appear, and an
/// unset one may (<c>PROXY_AUTH_TOKEN=your_proxy_token</c>). Read as <see cref="Example"/>.
/// </para>
/// </summary>
internal static partial class SettingsDocument
{
    /// <summary>What an uncommented .env.example line shows: a value to replace, allowed only for a setting without a default.</summary>
    public const string Example = "(example)";

    private const string ReadmeTableHeader = "| variable | default | meaning |";

    /// <summary>Walks up from the test assembly to the folder holding OllamaSocketProxy.sln.</summary>
    public static string RepositoryFile(string name)
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "OllamaSocketProxy.sln")))
            {
                return Path.Combine(folder.FullName, name);
            }
        }

        throw new InvalidOperationException($"no folder above {AppContext.BaseDirectory} holds OllamaSocketProxy.sln");
    }

    /// <summary>The rows of README's configuration table, in order, as (variable, the default shown).</summary>
    public static IReadOnlyList<(string Name, SettingDefault Default)> ReadReadme(string readme)
    {
        var lines = readme.ReplaceLineEndings("\n").Split('\n');
        var header = Array.FindIndex(lines, line => line.Trim() == ReadmeTableHeader);
        if (header < 0)
        {
            throw new FormatException($"README.md has no table with the header {ReadmeTableHeader}");
        }

        var rows = new List<(string, SettingDefault)>();
        foreach (var line in lines.Skip(header + 2).TakeWhile(line => line.StartsWith('|')))
        {
            var row = ReadmeRow().Match(line);
            if (!row.Success)
            {
                throw new FormatException($"README.md configuration row is not | `NAME` | default | meaning |: {line}");
            }

            rows.Add((row.Groups["name"].Value, ReadmeDefault(row.Groups["name"].Value, row.Groups["default"].Value.Trim())));
        }

        return rows;
    }

    /// <summary>The variable lines of .env.example, in order, as (variable, the default shown or <see cref="Example"/>).</summary>
    public static IReadOnlyList<(string Name, string Shown)> ReadEnvExample(string envExample)
    {
        var lines = new List<(string, string)>();
        foreach (var line in envExample.ReplaceLineEndings("\n").Split('\n'))
        {
            var variable = EnvLine().Match(line.Trim());
            if (variable.Success)
            {
                var value = variable.Groups["value"].Value.Trim();
                var shown = variable.Groups["commented"].Success
                    ? value.Length == 0 ? SettingDefault.Unset.ToString() : value
                    : Example;
                lines.Add((variable.Groups["name"].Value, shown));
            }
        }

        return lines;
    }

    /// <summary>Whether a .env.example line showing <paramref name="shown"/> agrees with a setting's <paramref name="default"/>.</summary>
    public static bool EnvExampleAgrees(SettingDefault @default, string shown) =>
        @default.Text is not null ? shown == @default.Text
        : @default.IsRequired ? shown == Example
        : shown == Example || shown == SettingDefault.Unset.ToString();

    private static SettingDefault ReadmeDefault(string name, string cell)
    {
        var code = LeadingCodeSpan().Match(cell);
        if (code.Success)
        {
            return code.Groups["text"].Value;
        }

        if (cell.StartsWith("— (required)", StringComparison.Ordinal))
        {
            return SettingDefault.Required;
        }

        if (cell.StartsWith("unset", StringComparison.Ordinal))
        {
            return SettingDefault.Unset;
        }

        throw new FormatException($"README.md default of {name} is neither `value`, \"— (required)\" nor \"unset\": {cell}");
    }

    [GeneratedRegex(@"^\|\s*`(?<name>[A-Z][A-Z0-9_]*)`\s*\|(?<default>[^|]*)\|")]
    private static partial Regex ReadmeRow();

    [GeneratedRegex("^`(?<text>[^`]*)`")]
    private static partial Regex LeadingCodeSpan();

    // A comment line of prose ("# Time for ...") has a space after '#', so it never matches.
    [GeneratedRegex(@"^(?<commented>#)?(?<name>[A-Z][A-Z0-9_]*)=(?<value>.*)$")]
    private static partial Regex EnvLine();
}
