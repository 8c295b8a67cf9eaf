using System.Text;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Http1;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>The model a request body names: only the top-level field, however it is spelled, over every buffer shape.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestModelTests
{
    internal static (RequestModelStatus Status, string? Name) Find(byte[] body, BufferShape shape, ModelField field = ModelField.Model)
    {
        var name = new byte[RequestModel.MaxNameLength];
        var status = RequestModel.Find(shape.Build(body), field, name, out var length);
        return (status, status == RequestModelStatus.Found ? Encoding.UTF8.GetString(name, 0, length) : null);
    }

    internal static IEnumerable<NamedCase> FoundBodies() =>
    [
        Case("plain", """{"model":"gemma3:4b","prompt":"hi"}""", "gemma3:4b"),
        Case("model last", """{"prompt":"hi","stream":false,"options":{"temperature":0},"model":"gpt-oss:120b"}""", "gpt-oss:120b"),
        Case("escaped colon", """{"model":"gemma3\u003a4b"}""", "gemma3:4b"),
        Case("every escape", """{"model":"a\"b\\c\/d\u00e9\ud83d\ude00\n"}""", "a\"b\\c/d\u00e9\U0001F600\n"),
        Case("raw UTF-8 name", "{\"model\":\"m\u00f6del\"}", "m\u00f6del"),
        Case("nested models first", """{"messages":[{"role":"user","model":"evil"}],"options":{"model":"evil2"},"model":"ok"}""", "ok"),
        Case("deeply nested model", """{"a":{"b":{"c":[{"model":"x"},[{"model":"y"}]]}},"model":"ok","z":[[[{"model":"w"}]]]}""", "ok"),
        Case("upper-case key", """{"MODEL":"ok"}""", "ok"),
        Case("mixed-case key", """{"Model":"ok"}""", "ok"),
        Case("escaped key", """{"mod\u0065l":"ok"}""", "ok"),
        Case("fully escaped upper-case key", """{"\u004D\u004f\u0044\u0045\u004C":"ok"}""", "ok"),
        Case("key with underscores and dashes", """{"_Mo-d_eL-":"ok"}""", "ok"),
        Case("key with an escaped underscore", """{"mod\u005fel":"ok"}""", "ok"),
        Case("long key", "{\"m" + new string('_', 200) + "odel\":\"ok\"}", "ok"),
        Case("whitespace everywhere", " \r\n\t{ \"model\" :\n \"ok\" \t} \n", "ok"),
        Case("text after the object", """{"model":"ok"} {"model":"evil"}""", "ok"),
        Case("model in a string value", """{"prompt":"\"model\":\"evil\"","model":"ok"}""", "ok"),
        Case("keys that only start like model", """{"models":"x","model_name":"y","modell":"z","mode":"w","model":"ok"}""", "ok"),
        Case("name ignored on inference routes", """{"name":"evil","model":"ok"}""", "ok"),
    ];

    private static IEnumerable<TestCaseData> Found() => Cross([.. FoundBodies()]);

    [TestCaseSource(nameof(Found))]
    public void TopLevelModel_Found(string body, string model, BufferShape shape)
    {
        Assert.That(Find(Encoding.UTF8.GetBytes(body), shape), Is.EqualTo((RequestModelStatus.Found, (string?)model)));
    }

    internal static IEnumerable<NamedCase> NotFoundBodies() =>
    [
        Case("empty object", "{}"),
        Case("no model", """{"prompt":"x","stream":true}"""),
        Case("only nested models", """{"messages":[{"model":"x"}],"options":{"model":"y"}}"""),
        Case("top-level array", """[{"model":"x"}]"""),
        Case("top-level string", "\"model\""),
        Case("top-level number", "42"),
        Case("top-level null", "null"),
        Case("empty body", ""),
        Case("whitespace only", " \r\n "),
        Case("null model", """{"model":null}"""),
        Case("number model", """{"model":42}"""),
        Case("object model", """{"model":{"name":"x"}}"""),
        Case("array model", """{"model":["x"]}"""),
        Case("empty model", """{"model":""}"""),
        Case("legacy name only", """{"name":"x"}"""),
        Case("body ends before the model", """{"prompt":"abc"""),
        Case("body ends inside the key", """{"prompt":"abc","mod"""),
    ];

    private static IEnumerable<TestCaseData> NotFound() => Cross([.. NotFoundBodies()]);

    [TestCaseSource(nameof(NotFound))]
    public void NoTopLevelModelString_NotFound(string body, BufferShape shape)
    {
        Assert.That(Find(Encoding.UTF8.GetBytes(body), shape).Status, Is.EqualTo(RequestModelStatus.NotFound));
    }

    internal static IEnumerable<NamedCase> InvalidBodies() =>
    [
        Case("not JSON", Latin1.Bytes("hello")),
        Case("missing colon", Latin1.Bytes("""{"model" "x"}""")),
        Case("single quotes", Latin1.Bytes("{'model':'x'}")),
        Case("trailing comma", Latin1.Bytes("""{"model":"x",}""")),
        Case("comment", Latin1.Bytes("""{/* c */"model":"x"}""")),
        Case("byte order mark", (byte[])[0xEF, 0xBB, 0xBF, .. Latin1.Bytes("""{"model":"x"}""")]),
        Case("invalid UTF-8 in the model", (byte[])[.. Latin1.Bytes("{\"model\":\"a"), 0xC3, 0x28, .. Latin1.Bytes("\"}")]),
        Case("lone high surrogate", Latin1.Bytes("""{"model":"a\ud800"}""")),
        Case("lone low surrogate", Latin1.Bytes("""{"model":"\udc00a"}""")),
        Case("control character in the model", Latin1.Bytes("{\"model\":\"a\u0001\"}")),
        Case("garbage after the model", Latin1.Bytes("""{"model":"x", nope}""")),
        Case("nested too deep", Latin1.Bytes("{\"a\":" + new string('[', 300) + new string(']', 300) + ",\"model\":\"x\"}")),
    ];

    private static IEnumerable<TestCaseData> Invalid() => Cross([.. InvalidBodies()]);

    [TestCaseSource(nameof(Invalid))]
    public void MalformedBodyOrModel_Invalid(byte[] body, BufferShape shape)
    {
        Assert.That(Find(body, shape).Status, Is.EqualTo(RequestModelStatus.Invalid));
    }

    internal static IEnumerable<NamedCase> AmbiguousBodies() =>
    [
        Case("twice", """{"model":"a","model":"b"}"""),
        Case("same twice", """{"model":"a","model":"a"}"""),
        Case("in another case", """{"model":"a","MODEL":"b"}"""),
        Case("escaped", """{"model":"a","mod\u0065l":"b"}"""),
        Case("null first", """{"model":null,"model":"b"}"""),
        Case("apart", """{"model":"a","messages":[{"model":"c"}],"Model":"b"}"""),
        Case("with dashes", """{"model":"a","m-o-d-e-l":"b"}"""),
        Case("with a long run of underscores", "{\"model\":\"a\",\"mod" + new string('_', 5000) + "el\":\"b\"}"),
    ];

    private static IEnumerable<TestCaseData> Ambiguous() => Cross([.. AmbiguousBodies()]);

    [TestCaseSource(nameof(Ambiguous))]
    public void ModelNamedTwice_Ambiguous(string body, BufferShape shape)
    {
        Assert.That(Find(Encoding.UTF8.GetBytes(body), shape).Status, Is.EqualTo(RequestModelStatus.Ambiguous));
    }

    private static IEnumerable<TestCaseData> LegacyName() => Cross(
        Case("name only", """{"name":"x"}""", RequestModelStatus.Found, "x"),
        Case("name in upper case", """{"NAME":"x"}""", RequestModelStatus.Found, "x"),
        Case("model before name", """{"model":"a","name":"b"}""", RequestModelStatus.Found, "a"),
        Case("model after name", """{"name":"b","model":"a"}""", RequestModelStatus.Found, "a"),
        Case("empty model, then name", """{"model":"","name":"b"}""", RequestModelStatus.Found, "b"),
        Case("name, then empty model", """{"name":"b","model":""}""", RequestModelStatus.Found, "b"),
        Case("null model", """{"model":null,"name":"b"}""", RequestModelStatus.Found, "b"),
        Case("empty name", """{"name":""}""", RequestModelStatus.NotFound, null),
        Case("name twice", """{"name":"a","name":"b"}""", RequestModelStatus.Ambiguous, null),
        Case("model twice", """{"name":"a","model":"b","model":"c"}""", RequestModelStatus.Ambiguous, null),
        Case("object not ended", """{"name":"b","verbose":true""", RequestModelStatus.NotFound, null),
        Case("model in an unended object", """{"model":"a","verbose":true""", RequestModelStatus.NotFound, null));

    /// <summary>Ollama's /api/show: "model" when it is a non-empty string, else the deprecated "name".</summary>
    [TestCaseSource(nameof(LegacyName))]
    public void ModelOrName_ModelFirstThenLegacyName(string body, RequestModelStatus status, string? model, BufferShape shape)
    {
        Assert.That(Find(Encoding.UTF8.GetBytes(body), shape, ModelField.ModelOrName), Is.EqualTo((status, model)));
    }

    /// <summary><c>{"prompt":"xx…x"</c> (12 bytes and the padding), then <paramref name="tail"/>.</summary>
    private static byte[] Padded(int paddingLength, string tail) =>
        Encoding.UTF8.GetBytes("{\"prompt\":\"" + new string('x', paddingLength) + "\"" + tail);

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void ModelAfterTheFirst64KiB_NotFound(BufferShape shape)
    {
        var body = Padded(70_000, ",\"model\":\"ok\"}");

        Assert.That(Find(body, shape).Status, Is.EqualTo(RequestModelStatus.NotFound));
    }

    /// <summary>The model's closing quote is the last byte read, then one byte past it.</summary>
    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void ModelEndingAtTheScanLimit_FoundOneByteLaterNot(BufferShape shape)
    {
        const string Tail = ",\"model\":\"ok\"";
        var fits = Padded(RequestModel.ScanLimit - 12 - Tail.Length, Tail + ",\"more\":1}");
        var over = Padded(RequestModel.ScanLimit - 11 - Tail.Length, Tail + ",\"more\":1}");

        Assert.That(
            (Find(fits, shape), Find(over, shape).Status),
            Is.EqualTo(((RequestModelStatus.Found, (string?)"ok"), RequestModelStatus.NotFound)));
    }

    /// <summary>A body longer than what is read: its model counts, and <see cref="RequestModelGuard"/> watches the rest.</summary>
    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void ModelInTheFirstBytesOfALongBody_Found(BufferShape shape)
    {
        var body = Encoding.UTF8.GetBytes("{\"model\":\"ok\",\"prompt\":\"" + new string('x', 100_000) + "\"}");

        Assert.That(
            (Find(body, shape), Find(body, shape, ModelField.ModelOrName).Status),
            Is.EqualTo(((RequestModelStatus.Found, (string?)"ok"), RequestModelStatus.NotFound)));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void NameLongerThanTheBuffer_Invalid(BufferShape shape)
    {
        Span<byte> name = stackalloc byte[5];

        var fits = RequestModel.Find(shape.Build("{\"model\":\"abcde\"}"), ModelField.Model, name, out var length);
        var over = RequestModel.Find(shape.Build("{\"model\":\"abcdef\"}"), ModelField.Model, name, out _);

        Assert.That((fits, length, over), Is.EqualTo((RequestModelStatus.Found, 5, RequestModelStatus.Invalid)));
    }
}
