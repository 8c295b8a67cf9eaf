using OllamaSocketProxy.Listener;

namespace OllamaSocketProxy.Tests.Listener.Configuration;

/// <summary>
/// README.md's configuration table and .env.example list exactly the variables of <see cref="Settings.All"/>, each
/// with the table's default. How a document shows a default, or that there is none, is in <see cref="SettingsDocument"/>.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class SettingsDocumentationTests
{
    private static readonly string[] TableNames = [.. Settings.All.Select(setting => setting.Name)];

    [Test]
    public void Readme_ListsTheTablesVariablesOnceEach()
    {
        var rows = SettingsDocument.ReadReadme(ReadRepositoryFile("README.md"));

        Assert.That(rows.Select(row => row.Name), Is.EquivalentTo(TableNames));
    }

    [Test]
    public void Readme_ShowsTheTablesDefaults()
    {
        var rows = SettingsDocument.ReadReadme(ReadRepositoryFile("README.md"));

        var wrong = from setting in Settings.All
                    join row in rows on setting.Name equals row.Name
                    where row.Default != setting.Default
                    select $"{setting.Name}: table {setting.Default}, README {row.Default}";
        Assert.That(wrong, Is.Empty);
    }

    [Test]
    public void EnvExample_ListsTheTablesVariablesOnceEach()
    {
        var lines = SettingsDocument.ReadEnvExample(ReadRepositoryFile(".env.example"));

        Assert.That(lines.Select(line => line.Name), Is.EquivalentTo(TableNames));
    }

    [Test]
    public void EnvExample_ShowsTheTablesDefaults()
    {
        var lines = SettingsDocument.ReadEnvExample(ReadRepositoryFile(".env.example"));

        var wrong = from setting in Settings.All
                    join line in lines on setting.Name equals line.Name
                    where !SettingsDocument.EnvExampleAgrees(setting.Default, line.Shown)
                    select $"{setting.Name}: table {setting.Default}, .env.example {line.Shown}";
        Assert.That(wrong, Is.Empty);
    }

    // The rules themselves, on documents made up here: a checker that read nothing would pass the tests above.

    [Test]
    public void ReadmeRows_ReadOnlyTheConfigurationTable()
    {
        const string Readme = """
            | variable | default | meaning |
            | --- | --- | --- |
            | `A_KEY` | — (required) | the key |
            | `A_TOKEN` | unset (open) | a token |
            | `A_SIZE` | `33554432` (32 MiB) | a size |
            | `A_ADDRESS` | `127.0.0.1:11434` (container image: `0.0.0.0:11434`) | an address |

            | status | when |
            | --- | --- |
            | `B_NOT_A_SETTING` | `400` |
            """;

        var rows = SettingsDocument.ReadReadme(Readme);

        Assert.That(rows, Is.EqualTo(new (string, SettingDefault)[]
        {
            ("A_KEY", SettingDefault.Required),
            ("A_TOKEN", SettingDefault.Unset),
            ("A_SIZE", "33554432"),
            ("A_ADDRESS", "127.0.0.1:11434"),
        }));
    }

    [TestCase("| `A_SIZE` | 8192 | a size |")]
    [TestCase("| `A_SIZE` | none | a size |")]
    [TestCase("| A_SIZE | `8192` | a size |")]
    public void ReadmeRow_WithoutAReadableDefault_Throws(string row)
    {
        var readme = $"| variable | default | meaning |\n| --- | --- | --- |\n{row}\n";

        Assert.That(() => SettingsDocument.ReadReadme(readme), Throws.TypeOf<FormatException>());
    }

    [Test]
    public void Readme_WithoutTheConfigurationTable_Throws()
    {
        Assert.That(() => SettingsDocument.ReadReadme("| name | value |\n| --- | --- |\n| `A` | `1` |\n"), Throws.TypeOf<FormatException>());
    }

    [Test]
    public void EnvExampleLines_ReadDefaultsNoDefaultsAndExamples()
    {
        const string EnvExample = """
            # A comment line = not a variable
            A_KEY=your_key
            #A_FILE=
            #A_SIZE=8192
              #A_LEVEL=Information
            """;

        var lines = SettingsDocument.ReadEnvExample(EnvExample);

        Assert.That(lines, Is.EqualTo(new[]
        {
            ("A_KEY", SettingsDocument.Example),
            ("A_FILE", SettingDefault.Unset.ToString()),
            ("A_SIZE", "8192"),
            ("A_LEVEL", "Information"),
        }));
    }

    [TestCase("130", "130", ExpectedResult = true)]
    [TestCase("130", "120", ExpectedResult = false)]
    [TestCase("130", SettingsDocument.Example, ExpectedResult = false)]
    [TestCase("130", "(unset)", ExpectedResult = false)]
    public bool EnvExample_SettingWithADefault_AgreesOnlyWithThatDefault(string tableDefault, string shown) =>
        SettingsDocument.EnvExampleAgrees(tableDefault, shown);

    [TestCase(SettingsDocument.Example, ExpectedResult = true)]
    [TestCase("(unset)", ExpectedResult = false)]
    [TestCase("your_key", ExpectedResult = false)]
    public bool EnvExample_RequiredSetting_AgreesOnlyWithAnExample(string shown) =>
        SettingsDocument.EnvExampleAgrees(SettingDefault.Required, shown);

    [TestCase(SettingsDocument.Example, ExpectedResult = true)]
    [TestCase("(unset)", ExpectedResult = true)]
    [TestCase("x", ExpectedResult = false)]
    public bool EnvExample_UnsetSetting_AgreesWithNoDefaultOrAnExample(string shown) =>
        SettingsDocument.EnvExampleAgrees(SettingDefault.Unset, shown);

    private static string ReadRepositoryFile(string name) => File.ReadAllText(SettingsDocument.RepositoryFile(name));
}
