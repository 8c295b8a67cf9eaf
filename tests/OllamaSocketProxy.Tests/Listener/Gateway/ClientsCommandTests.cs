using System.Text;
using System.Text.RegularExpressions;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Listener.Gateway.GatewayFixtures;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary><c>clients add</c> and <c>clients list</c>, run in-process on real files.</summary>
[Parallelizable(ParallelScope.All)]
public sealed partial class ClientsCommandTests
{
    private static readonly string HashA = Sha256Hex("token-a");

    [Test]
    public void AddToNewFile_PrintsTheTokenOnceAndTheFileAuthenticatesIt()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("clients.json");

        var result = Run(["add", "laptop", "--models", "gpt-oss:*, gemma3:4b", "--file", path]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        var token = SingleToken(result.Output);
        var client = ClientRegistry.Load(path, null).Authenticate(Encoding.ASCII.GetBytes(token));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Output, Does.Contain("shown only once"));
            Assert.That(result.Error, Is.Empty);
            Assert.That(client?.Name, Is.EqualTo("laptop"));
            Assert.That(client?.Models, Is.EqualTo(new[] { "gpt-oss:*", "gemma3:4b" }));
            Assert.That(client?.Manage, Is.False);
            Assert.That(File.ReadAllText(path), Does.Not.Contain(token).And.Contain(Sha256Hex(token)));
            Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { path }), "no temporary file is left behind");
        }
    }

    [Test]
    public void Token_HasAtLeast128RandomBitsOfVisibleAscii()
    {
        var tokens = Enumerable.Range(0, 100).Select(_ => ClientsCommand.NewToken()).ToList();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(tokens, Is.Unique);
            foreach (var token in tokens)
            {
                // 32 random bytes in base64url: 43 characters of 6 bits each.
                Assert.That(token, Does.Match("^osp_[A-Za-z0-9_-]{43}$"));
            }
        }
    }

    /// <summary>A clients file as the operator wrote it, and as it must read after <c>add laptop</c> (the entry is &lt;ENTRY&gt;).</summary>
    private static IEnumerable<TestCaseData> EditedFiles()
    {
        TestCaseData Case(string name, string before, string after) => new TestCaseData(before, after).SetArgDisplayNames(name);
        var a = $"{{ \"name\": \"a\", \"token_sha256\": \"{HashA}\" }}";

        yield return Case(
            "ExampleWithCommentsAndTrailingComma",
            ExampleFile,
            ExampleFile.Replace("\n  ],", "\n    <ENTRY>\n  ],", StringComparison.Ordinal));
        yield return Case(
            "NoTrailingCommaAndACommentAfterTheLastEntry",
            $"{{\n  \"clients\": [\n    {a} // the first\n  ]\n}}\n",
            $"{{\n  \"clients\": [\n    {a}, // the first\n    <ENTRY>\n  ]\n}}\n");
        yield return Case(
            "CommentsWithCommaAndBracketBeforeTheEnd",
            $"{{\n  \"clients\": [\n    {a}\n    // kids, later ]\n    /* , */\n  ]\n}}\n",
            $"{{\n  \"clients\": [\n    {a},\n    // kids, later ]\n    /* , */\n    <ENTRY>\n  ]\n}}\n");
        yield return Case(
            "EmptyArrayWithAComment",
            "{\n  \"clients\": [\n    // none yet\n  ]\n}\n",
            "{\n  \"clients\": [\n    // none yet\n    <ENTRY>\n  ]\n}\n");
        yield return Case(
            "EmptyArrayOnOneLine",
            "{ \"clients\": [] }",
            "{ \"clients\": [\n  <ENTRY>\n] }");
        yield return Case(
            "EverythingOnOneLine",
            $"{{\"clients\":[{a}]}}",
            $"{{\"clients\":[{a},\n  <ENTRY>\n]}}");
        yield return Case(
            "CrLfAndTabs",
            $"{{\r\n\t\"clients\": [\r\n\t\t{a}\r\n\t]\r\n}}\r\n",
            $"{{\r\n\t\"clients\": [\r\n\t\t{a},\r\n\t\t<ENTRY>\r\n\t]\r\n}}\r\n");
        yield return Case(
            "ByteOrderMark",
            $"\uFEFF{{\n  \"clients\": [\n    {a}\n  ]\n}}\n",
            $"\uFEFF{{\n  \"clients\": [\n    {a},\n    <ENTRY>\n  ]\n}}\n");
    }

    [TestCaseSource(nameof(EditedFiles))]
    public void AddToExistingFile_KeepsItsTextAndInsertsTheEntryBeforeTheClosingBracket(string before, string after)
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("clients.json");
        File.WriteAllText(path, before, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));

        var result = Run(["add", "laptop", "--file", path]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        var text = Encoding.UTF8.GetString(File.ReadAllBytes(path));
        var token = SingleToken(result.Output);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(LaptopEntry().Replace(text, "<ENTRY>"), Is.EqualTo(after));
            Assert.That(ClientRegistry.Load(path, null).Authenticate(Encoding.ASCII.GetBytes(token))?.Name, Is.EqualTo("laptop"));
        }
    }

    [Test]
    public void AddTwice_BothTokensAuthenticateAndTheOldClientsStay()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("clients.json");
        File.WriteAllText(path, ExampleFile);

        var laptop = Run(["add", "laptop", $"--file={path}"]);
        var phone = Run(["add", "phone", "--file", path, "--max-concurrent", "2", "--requests-per-minute", "30", "--manage"]);

        var registry = ClientRegistry.Load(path, null);
        var phoneClient = registry.Authenticate(Encoding.ASCII.GetBytes(SingleToken(phone.Output)));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(registry.Clients.Select(client => client.Name), Is.EqualTo(new[] { "open-webui", "kids", "laptop", "phone" }));
            Assert.That(registry.Authenticate(Encoding.ASCII.GetBytes(SingleToken(laptop.Output)))?.Name, Is.EqualTo("laptop"));
            Assert.That(registry.Authenticate(Encoding.ASCII.GetBytes(KidsToken))?.Name, Is.EqualTo("kids"));
            Assert.That(phoneClient?.Name, Is.EqualTo("phone"));
            Assert.That(phoneClient?.MaxConcurrent, Is.EqualTo(2));
            Assert.That(phoneClient?.RequestsPerMinute, Is.EqualTo(30));
            Assert.That(phoneClient?.Manage, Is.True);
            Assert.That(phoneClient?.Models, Is.Null);
        }
    }

    [TestCase("kids")]
    [TestCase("KIDS")]
    public void AddAnExistingName_FailsWithOneLineAndLeavesTheFileUnchanged(string name)
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("clients.json");
        File.WriteAllText(path, ExampleFile);

        var result = Run(["add", name, "--file", path]);

        AssertFailedWithOneLine(result, $"line 7: a client named \"kids\" is already there");
        Assert.That(File.ReadAllText(path), Is.EqualTo(ExampleFile));
    }

    [Test]
    public void AddDefault_FailsBecausePROXY_AUTH_TOKENHasIt()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("clients.json");

        var result = Run(["add", "default", "--file", path]);

        AssertFailedWithOneLine(result, "the name \"default\" is kept for the client of PROXY_AUTH_TOKEN");
        Assert.That(File.Exists(path), Is.False);
    }

    [Test]
    public void AddToAnInvalidFile_FailsNamingTheLineAndLeavesTheFileUnchanged()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("clients.json");
        var broken = ExampleFile.Replace("\"max_concurrent\": 4", "\"max_concurent\": 4", StringComparison.Ordinal);
        File.WriteAllText(path, broken);

        var result = Run(["add", "laptop", "--file", path]);

        AssertFailedWithOneLine(result, $"{path}: line 5: clients[0] has an unknown property \"max_concurent\"");
        Assert.That(File.ReadAllText(path), Is.EqualTo(broken));
    }

    [Test]
    public void AddWithoutFileOption_UsesPROXY_CLIENTS_FILE()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("from-environment.json");

        var result = Run(["add", "laptop"], new Dictionary<string, string?> { ["PROXY_CLIENTS_FILE"] = $" {path} " });

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(ClientsFile.Load(path).Clients.Single().Name, Is.EqualTo("laptop"));
    }

    [TestCase("add", "laptop")]
    [TestCase("list")]
    public void NoFileOptionNorVariable_FailsNamingBoth(params string[] args)
    {
        var result = Run(args, new Dictionary<string, string?> { ["PROXY_CLIENTS_FILE"] = " " });

        AssertFailedWithOneLine(result, "pass --file PATH or set PROXY_CLIENTS_FILE");
    }

    [Test]
    public void AddWhenPROXY_AUTH_TOKENHasTheDigestOfAFileClient_FailsAndLeavesTheFileUnchanged()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("clients.json");
        File.WriteAllText(path, ExampleFile);

        var result = Run(["add", "laptop", "--file", path], new Dictionary<string, string?> { ["PROXY_AUTH_TOKEN"] = KidsToken });

        AssertFailedWithOneLine(result, "client \"kids\" has the token of PROXY_AUTH_TOKEN");
        Assert.That(File.ReadAllText(path), Is.EqualTo(ExampleFile));
    }

    [Test]
    [Platform(Exclude = "Win")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Add_KeepsTheFilesPermissions()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("clients.json");
        File.WriteAllText(path, ExampleFile);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var result = Run(["add", "laptop", "--file", path]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Test]
    public void List_ShowsNamesAndSettingsButNoDigestOrToken()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("clients.json");
        File.WriteAllText(path, ExampleFile);
        const string authToken = "proxy-auth-token-listed";

        var result = Run(["list", "--file", path], new Dictionary<string, string?> { ["PROXY_AUTH_TOKEN"] = authToken });

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), Is.EqualTo(new[]
        {
            "open-webui  models=gpt-oss:*,qwen3-coder:480b max_concurrent=4 requests_per_minute=60 manage=false",
            "kids        models=gemma3:4b manage=false",
            "default     models=* manage=true  (PROXY_AUTH_TOKEN)",
        }));
        Assert.That(HexRun().IsMatch(result.Output), Is.False, "no digest, nor any part of one");
        Assert.That(result.Output, Does.Not.Contain(authToken));
    }

    [Test]
    public void ListAFileWithNoClient_SaysItAdmitsNobody()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("clients.json");
        File.WriteAllText(path, """{ "clients": [] }""");

        var result = Run(["list", "--file", path]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(result.Output, Does.Contain("defines no client: the proxy admits nobody"));
    }

    [Test]
    public void ListAMissingFile_FailsWithOneLine()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("absent.json");

        AssertFailedWithOneLine(Run(["list", "--file", path]), $"{path}: cannot be read");
    }

    [TestCase(new string[0], "which command")]
    [TestCase(new[] { "remove", "kids" }, "unknown command \"remove\"")]
    [TestCase(new[] { "add" }, "add needs the client's NAME")]
    [TestCase(new[] { "add", "my laptop" }, "NAME must be 1 to 64 letters")]
    [TestCase(new[] { "add", "laptop", "phone" }, "unexpected argument")]
    [TestCase(new[] { "add", "laptop", "--model", "x" }, "unknown option --model for add")]
    [TestCase(new[] { "add", "laptop", "--models" }, "--models needs a value")]
    [TestCase(new[] { "add", "laptop", "--models", "a,,b" }, "--models takes model names")]
    [TestCase(new[] { "add", "laptop", "--max-concurrent", "0" }, "--max-concurrent takes a whole number from 1")]
    [TestCase(new[] { "add", "laptop", "--requests-per-minute", "-1" }, "--requests-per-minute takes a whole number from 1")]
    [TestCase(new[] { "add", "laptop", "--manage=yes" }, "unknown option --manage for add")]
    [TestCase(new[] { "add", "laptop", "--file=" }, "--file needs a path")]
    [TestCase(new[] { "list", "--models", "x" }, "unknown option --models for list")]
    public void WrongArguments_Exit2WithTheReasonAndTheUsage(string[] args, string reason)
    {
        var result = Run(args);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(2));
            Assert.That(result.Error, Does.StartWith($"OllamaSocketProxy clients: {reason}"));
            Assert.That(result.Error, Does.Contain("usage: OllamaSocketProxy clients add NAME"));
            Assert.That(result.Output, Is.Empty);
        }
    }

    [Test]
    public void Help_PrintsTheUsageAndExits0()
    {
        var result = Run(["--help"]);

        Assert.That(result.ExitCode, Is.EqualTo(0));
        Assert.That(result.Output, Does.Contain("usage: OllamaSocketProxy clients add NAME"));
    }

    private static CommandResult Run(IReadOnlyList<string> args, Dictionary<string, string?>? environment = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = ClientsCommand.Run(args, output, error, environment ?? []);
        return new CommandResult(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>The one token in the output, checked to appear once.</summary>
    private static string SingleToken(string output)
    {
        var tokens = TokenPattern().Matches(output).Select(match => match.Value).ToList();
        Assert.That(tokens, Has.Count.EqualTo(1), output);
        Assert.That(output.TrimEnd().Split('\n')[^1], Is.EqualTo(tokens[0]), "the token is the last line, alone");
        return tokens[0];
    }

    private static void AssertFailedWithOneLine(CommandResult result, string words)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(result.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), result.Error);
            Assert.That(result.Error, Does.StartWith("OllamaSocketProxy clients: ").And.Contain(words));
            Assert.That(result.Output, Is.Empty, "no token is printed when nothing was added");
        }
    }

    private sealed record CommandResult(int ExitCode, string Output, string Error);

    [GeneratedRegex(@"osp_[A-Za-z0-9_-]+")]
    private static partial Regex TokenPattern();

    [GeneratedRegex("""\{ "name": "laptop", "token_sha256": "[0-9a-f]{64}" \}""")]
    private static partial Regex LaptopEntry();

    [GeneratedRegex("[0-9a-f]{16}")]
    private static partial Regex HexRun();
}
