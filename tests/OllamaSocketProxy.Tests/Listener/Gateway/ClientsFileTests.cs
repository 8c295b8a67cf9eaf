using System.Text;
using System.Text.RegularExpressions;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Listener.Gateway.GatewayFixtures;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>The clients file: the README's example parses; every invalid file fails with its line and no secret.</summary>
[Parallelizable(ParallelScope.All)]
public sealed partial class ClientsFileTests
{
    private static readonly string HashA = Sha256Hex("token-a");
    private static readonly string HashB = Sha256Hex("token-b");

    [Test]
    public void ExampleWithCommentsAndTrailingCommas_ParsesEveryField()
    {
        var file = ClientsFile.Parse(Encoding.UTF8.GetBytes(ExampleFile));

        Assert.That(file.Clients, Has.Count.EqualTo(2));
        var (openWebUi, kids) = (file.Clients[0], file.Clients[1]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(openWebUi.Name, Is.EqualTo("open-webui"));
            Assert.That(Convert.ToHexStringLower(openWebUi.TokenSha256), Is.EqualTo(Sha256Hex(OpenWebUiToken)));
            Assert.That(openWebUi.Models, Is.EqualTo(new[] { "gpt-oss:*", "qwen3-coder:480b" }));
            Assert.That(openWebUi.MaxConcurrent, Is.EqualTo(4));
            Assert.That(openWebUi.RequestsPerMinute, Is.EqualTo(60));
            Assert.That(openWebUi.Manage, Is.False);
            Assert.That(openWebUi.Line, Is.EqualTo(4));

            Assert.That(kids.Name, Is.EqualTo("kids"));
            Assert.That(Convert.ToHexStringLower(kids.TokenSha256), Is.EqualTo(Sha256Hex(KidsToken)));
            Assert.That(kids.Models, Is.EqualTo(new[] { "gemma3:4b" }));
            Assert.That(kids.MaxConcurrent, Is.Null);
            Assert.That(kids.RequestsPerMinute, Is.Null);
            Assert.That(kids.Manage, Is.False);
            Assert.That(kids.Line, Is.EqualTo(7));
        }
    }

    [Test]
    public void AbsentModelsAndManageTrue_AllowEveryModelAndManage()
    {
        var file = Parse($$"""{ "clients": [ { "name": "admin", "token_sha256": "{{HashA}}", "manage": true } ] }""");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(file.Clients[0].Models, Is.Null);
            Assert.That(file.Clients[0].AllowsEveryModel, Is.True);
            Assert.That(file.Clients[0].Manage, Is.True);
        }
    }

    [Test]
    public void EmptyClientsArray_ParsesToNoClient()
    {
        Assert.That(Parse("""{ "clients": [] }""").Clients, Is.Empty);
    }

    [Test]
    public void ByteOrderMarkAndCrLf_ParseWithTheRightLines()
    {
        var text = $"{{\r\n  \"clients\": [\r\n\r\n    {{ \"name\": \"a\", \"token_sha256\": \"{HashA}\" }}\r\n  ]\r\n}}\r\n";
        var file = ClientsFile.Parse([.. "\uFEFF"u8, .. Encoding.UTF8.GetBytes(text)]);

        Assert.That(file.Clients.Single().Line, Is.EqualTo(4));
    }

    /// <summary>An invalid file, the line its error is on, and words the message must hold.</summary>
    private static IEnumerable<TestCaseData> InvalidFiles()
    {
        TestCaseData Case(string name, string text, int line, string words) =>
            new TestCaseData(text, line, words).SetArgDisplayNames(name);

        string OneClient(string fields) => $"{{\n  \"clients\": [\n    {{ {fields} }}\n  ]\n}}\n";
        var token = $"\"token_sha256\": \"{HashA}\"";

        yield return Case("EmptyFile", "", 1, "not valid JSON");
        yield return Case("RootIsArray", "\n[]", 2, "one JSON object");
        yield return Case("NoClients", "{\n}", 1, "no \"clients\" array");
        yield return Case("ClientsIsObject", "{\n \"clients\": {}\n}", 2, "must be an array");
        yield return Case("ClientsTwice", "{ \"clients\": [],\n \"clients\": [] }", 2, "appears twice");
        yield return Case("UnknownTopLevelProperty", "{ \"clients\": [],\n \"client\": [] }", 2, "unknown property \"client\"");
        yield return Case("ClientIsString", "{ \"clients\": [\n \"kids\" ] }", 2, "clients[0] must be an object");
        yield return Case("MissingComma", $"{{ \"clients\": [\n{{ \"name\": \"a\"\n {token} }} ] }}", 3, "not valid JSON");
        yield return Case("UnterminatedObject", "{ \"clients\": [\n", 2, "not valid JSON");
        yield return Case("TextAfterTheObject", "{ \"clients\": [] }\n\nx", 3, "not valid JSON");

        yield return Case("NameMissing", OneClient(token), 3, "clients[0] has no \"name\"");
        yield return Case("NameEmpty", OneClient($"\"name\": \"\", {token}"), 3, "clients[0].name must be 1 to 64 letters");
        yield return Case("NameWithSpace", OneClient($"\"name\": \"my laptop\", {token}"), 3, "clients[0].name must be");
        yield return Case("NameWithQuote", OneClient($"\"name\": \"a\\\"b\", {token}"), 3, "clients[0].name must be");
        yield return Case("NameTooLong", OneClient($"\"name\": \"{new string('n', 65)}\", {token}"), 3, "clients[0].name must be");
        yield return Case("NameNotString", OneClient($"\"name\": 7, {token}"), 3, "clients[0].name must be");
        yield return Case(
            "NameTwiceInAnyCase",
            $"{{ \"clients\": [\n  {{ \"name\": \"kids\", {token} }},\n  {{ \"name\": \"Kids\",\n    \"token_sha256\": \"{HashB}\" }}\n] }}",
            3,
            "\"Kids\" is already the name of the client on line 2");

        yield return Case("TokenMissing", OneClient("\"name\": \"a\""), 3, "(\"a\") has no \"token_sha256\"");
        yield return Case("TokenUppercase", OneClient($"\"name\": \"a\", \"token_sha256\": \"{HashA.ToUpperInvariant()}\""), 3, "64 lowercase hex digits");
        yield return Case("TokenTooShort", OneClient($"\"name\": \"a\", \"token_sha256\": \"{HashA[1..]}\""), 3, "64 lowercase hex digits");
        yield return Case("TokenTooLong", OneClient($"\"name\": \"a\", \"token_sha256\": \"{HashA}0\""), 3, "64 lowercase hex digits");
        yield return Case("TokenNotHex", OneClient($"\"name\": \"a\", \"token_sha256\": \"{HashA[..^1]}g\""), 3, "64 lowercase hex digits");
        yield return Case("TokenIsThePlainToken", OneClient("\"name\": \"a\", \"token_sha256\": \"osp_plain-token-pasted-by-mistake\""), 3, "the SHA-256 of the client's token");
        yield return Case("TokenNotString", OneClient("\"name\": \"a\", \"token_sha256\": 12"), 3, "64 lowercase hex digits");
        yield return Case(
            "TokenTwice",
            $"{{ \"clients\": [\n  {{ \"name\": \"a\", {token} }},\n\n  {{ \"name\": \"b\", {token} }}\n] }}",
            4,
            "the same as that of the client on line 2");

        yield return Case("ModelsNull", OneClient($"\"name\": \"a\", {token}, \"models\": null"), 3, "clients[0].models must be an array");
        yield return Case("ModelsString", OneClient($"\"name\": \"a\", {token}, \"models\": \"gemma3:4b\""), 3, "clients[0].models must be an array");
        yield return Case("ModelEmpty", $"{{ \"clients\": [ {{ \"name\": \"a\", {token}, \"models\": [\"gemma3:4b\",\n \"\"] }} ] }}", 2, "clients[0].models[1] must be a model name");
        yield return Case("ModelNumber", OneClient($"\"name\": \"a\", {token}, \"models\": [3]"), 3, "clients[0].models[0] must be a model name");

        yield return Case("MaxConcurrentZero", OneClient($"\"name\": \"a\", {token}, \"max_concurrent\": 0"), 3, "clients[0].max_concurrent must be a whole number from 1");
        yield return Case("MaxConcurrentNegative", OneClient($"\"name\": \"a\", {token}, \"max_concurrent\": -4"), 3, "clients[0].max_concurrent must be");
        yield return Case("MaxConcurrentFraction", OneClient($"\"name\": \"a\", {token}, \"max_concurrent\": 1.5"), 3, "clients[0].max_concurrent must be");
        yield return Case("MaxConcurrentTooLarge", OneClient($"\"name\": \"a\", {token}, \"max_concurrent\": 2147483648"), 3, "clients[0].max_concurrent must be");
        yield return Case("MaxConcurrentString", OneClient($"\"name\": \"a\", {token}, \"max_concurrent\": \"4\""), 3, "clients[0].max_concurrent must be");
        yield return Case("RequestsPerMinuteZero", OneClient($"\"name\": \"a\", {token}, \"requests_per_minute\": 0"), 3, "clients[0].requests_per_minute must be a whole number from 1");
        yield return Case("ManageString", OneClient($"\"name\": \"a\", {token}, \"manage\": \"yes\""), 3, "clients[0].manage must be true or false");

        yield return Case("UnknownPropertyTypo", OneClient($"\"name\": \"a\", {token}, \"max_concurent\": 4"), 3, "unknown property \"max_concurent\"");
        yield return Case("UnknownPropertyLooksLikeASecret", OneClient($"\"name\": \"a\", {token}, \"{HashB}\": 4"), 3, "unknown property (a name that is not shown)");
        yield return Case("PropertyTwice", $"{{ \"clients\": [ {{ \"name\": \"a\", {token},\n \"name\": \"b\" }} ] }}", 2, "clients[0].name appears twice");
        yield return Case(
            "ErrorOnTheSecondClientOfTheExample",
            ExampleFile.Replace("\"manage\": false", "\"manage\": 0", StringComparison.Ordinal),
            7,
            "clients[1].manage must be true or false");
    }

    [TestCaseSource(nameof(InvalidFiles))]
    public void InvalidFile_FailsNamingTheLineAndNoSecret(string text, int line, string words)
    {
        var error = Assert.Throws<ClientsFileException>(() => ClientsFile.Parse(Encoding.UTF8.GetBytes(text), "clients.json"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Line, Is.EqualTo(line), error.Message);
            Assert.That(error.Message, Does.StartWith($"clients.json: line {line}: "));
            Assert.That(error.Message, Does.Contain(words));
            foreach (var value in LongStrings(text))
            {
                Assert.That(error.Message, Does.Not.Contain(value), "a string value of the file appears in the message");
            }
        }
    }

    [Test]
    public void MissingFile_FailsNamingThePathWithoutALine()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("absent.json");

        var error = Assert.Throws<ClientsFileException>(() => ClientsFile.Load(path));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(error.Line, Is.Zero);
            Assert.That(error.Message, Does.StartWith($"{path}: cannot be read"));
        }
    }

    [Test]
    public void LoadedFile_KnowsItsPath()
    {
        using var folder = new TemporaryFolder();
        var path = folder.File("clients.json");
        File.WriteAllText(path, ExampleFile);

        var file = ClientsFile.Load(path);

        Assert.That(file.Path, Is.EqualTo(path));
        Assert.That(file.Clients.Select(client => client.Name), Is.EqualTo(new[] { "open-webui", "kids" }));
    }

    private static ClientsFile Parse(string text) => ClientsFile.Parse(Encoding.UTF8.GetBytes(text));

    /// <summary>Every string in the text of 16 characters or more but the known property names: digests, and anything that could be a token.</summary>
    private static IEnumerable<string> LongStrings(string text) =>
        LongString().Matches(text).Select(match => match.Groups[1].Value).Where(value => value != "requests_per_minute");

    [GeneratedRegex("\"([^\"]{16,})\"")]
    private static partial Regex LongString();
}
