using System.Buffers;
using System.Text;
using System.Text.Json;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Http1;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>Model lists cut down to the client's models, every other byte as the upstream sent it.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ModelListFilterTests
{
    private static readonly ModelAllowList Kids = CreateList("gemma3:4b", "gpt-oss:*");

    private static ModelAllowList CreateList(params string[] patterns)
    {
        ModelAllowList.TryCreate(patterns, out var list, out _);
        return list!;
    }

    private static (bool Filtered, string Output) Filter(string json, ModelListFormat format, BufferShape shape, ModelAllowList? allowed = null)
    {
        var output = new ArrayBufferWriter<byte>();
        var filtered = ModelListFilter.TryFilter(shape.Build(Encoding.UTF8.GetBytes(json)), format, allowed ?? Kids, output);
        return (filtered, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    private const string Tags = """{"models":[{"name":"gemma3:4b","model":"gemma3:4b","modified_at":"2025-10-03T23:34:03.4-07:00","size":3338801804,"digest":"a2af6cc3","details":{"format":"gguf","family":"gemma","families":["gemma"],"parameter_size":"4.3B","quantization_level":"Q4_K_M"}},{"name":"qwen3-coder:480b","model":"qwen3-coder:480b","size":1},{"name":"gpt-oss:120b","model":"gpt-oss:120b","size":2}]}""";

    private static IEnumerable<TestCaseData> Lists() => Cross(
        Case(
            "tags",
            Tags,
            ModelListFormat.Ollama,
            """{"models":[{"name":"gemma3:4b","model":"gemma3:4b","modified_at":"2025-10-03T23:34:03.4-07:00","size":3338801804,"digest":"a2af6cc3","details":{"format":"gguf","family":"gemma","families":["gemma"],"parameter_size":"4.3B","quantization_level":"Q4_K_M"}},{"name":"gpt-oss:120b","model":"gpt-oss:120b","size":2}]}"""),
        Case(
            "ps",
            """{"models":[{"name":"gpt-oss:20b","model":"gpt-oss:20b","size_vram":5,"expires_at":"2025-01-01T00:00:00Z"},{"name":"llama3:latest","model":"llama3:latest"}]}""",
            ModelListFormat.Ollama,
            """{"models":[{"name":"gpt-oss:20b","model":"gpt-oss:20b","size_vram":5,"expires_at":"2025-01-01T00:00:00Z"}]}"""),
        Case(
            "v1 models",
            """{"object":"list","data":[{"id":"qwen3:8b","object":"model","created":1,"owned_by":"library"},{"id":"gpt-oss:20b","object":"model","created":2,"owned_by":"library"}]}""",
            ModelListFormat.OpenAi,
            """{"object":"list","data":[{"id":"gpt-oss:20b","object":"model","created":2,"owned_by":"library"}]}"""),
        Case(
            "other properties before and after, kept as sent",
            """{ "before" : [1, {"models":[{"name":"x"}]}], "models" : [ {"name":"x:1"} , {"name":"gemma3:4b"} ] , "after":"\u00e9\u003c" }""",
            ModelListFormat.Ollama,
            """{ "before" : [1, {"models":[{"name":"x"}]}], "models" : [{"name":"gemma3:4b"}] , "after":"\u00e9\u003c" }"""),
        Case(
            "pretty-printed",
            "{\n  \"models\": [\n    {\n      \"name\": \"gemma3:4b\"\n    },\n    {\n      \"name\": \"x:1\"\n    }\n  ]\n}\n",
            ModelListFormat.Ollama,
            "{\n  \"models\": [{\n      \"name\": \"gemma3:4b\"\n    }]\n}\n"),
        Case("nothing allowed", """{"models":[{"name":"x:1"},{"name":"y:2"}]}""", ModelListFormat.Ollama, """{"models":[]}"""),
        Case("empty list", """{"models":[]}""", ModelListFormat.Ollama, """{"models":[]}"""),
        Case("no list", """{"error":"x"}""", ModelListFormat.Ollama, """{"error":"x"}"""),
        Case("null list", """{"models":null}""", ModelListFormat.Ollama, """{"models":null}"""),
        Case("escaped name", """{"models":[{"name":"gemma3\u003a4b"},{"name":"x\u003a1"}]}""", ModelListFormat.Ollama, """{"models":[{"name":"gemma3\u003a4b"}]}"""),
        Case("names in another case", """{"models":[{"Name":"GEMMA3:4B"},{"NAME":"x:1"}]}""", ModelListFormat.Ollama, """{"models":[{"Name":"GEMMA3:4B"}]}"""),
        Case(
            "entries without a usable name dropped",
            """{"models":[{"size":1},{"name":null},{"name":5},{"name":{"x":1}},"gemma3:4b",["gemma3:4b"],null,{"name":"gemma3:4b"}]}""",
            ModelListFormat.Ollama,
            """{"models":[{"name":"gemma3:4b"}]}"""),
        Case(
            "entry whose name and model disagree dropped",
            """{"models":[{"name":"gemma3:4b","model":"x:1"},{"name":"x:1","model":"gemma3:4b"},{"name":"gpt-oss","model":"gpt-oss:latest"}]}""",
            ModelListFormat.Ollama,
            """{"models":[{"name":"gpt-oss","model":"gpt-oss:latest"}]}"""),
        Case(
            "duplicate lists both filtered",
            """{"models":[{"name":"x:1"}],"models":[{"name":"gemma3:4b"},{"name":"y:1"}]}""",
            ModelListFormat.Ollama,
            """{"models":[],"models":[{"name":"gemma3:4b"}]}"""),
        Case(
            "id ignored in the Ollama format, name in the OpenAI one",
            """{"models":[{"id":"gemma3:4b"}],"data":[{"name":"x:1"}]}""",
            ModelListFormat.Ollama,
            """{"models":[],"data":[{"name":"x:1"}]}"""));

    [TestCaseSource(nameof(Lists))]
    public void ModelList_OnlyAllowedEntriesKept(string json, ModelListFormat format, string expected, BufferShape shape)
    {
        Assert.That(Filter(json, format, shape), Is.EqualTo((true, expected)));
    }

    [TestCaseSource(nameof(Lists))]
    public void FilteredList_ParsesAndNamesOnlyAllowedModels(string json, ModelListFormat format, string expected, BufferShape shape)
    {
        var (_, output) = Filter(json, format, shape);
        using var document = JsonDocument.Parse(output);
        var list = document.RootElement.EnumerateObject().Where(p => p.NameEquals(format == ModelListFormat.Ollama ? "models" : "data"));
        var names =
            from property in list
            where property.Value.ValueKind == JsonValueKind.Array
            from entry in property.Value.EnumerateArray()
            from field in entry.EnumerateObject()
            where field.Name.ToLowerInvariant() is "name" or "model" or "id"
            select field.Value.GetString();

        Assert.That(names, Is.All.Matches<string>(Kids.Allows));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void EveryModelAllowed_SameJson(BufferShape shape)
    {
        Assert.That(Filter(Tags, ModelListFormat.Ollama, shape, ModelAllowList.Everything), Is.EqualTo((true, Tags)));
    }

    private static IEnumerable<TestCaseData> NotModelLists() => Cross(
        Case("empty", ""),
        Case("truncated", """{"models":[{"name":"gemma3:4b"}"""),
        Case("not JSON", "<html>502</html>"),
        Case("top-level array", """[{"name":"gemma3:4b"}]"""),
        Case("top-level null", "null"),
        Case("text after the object", """{"models":[]} {"models":[{"name":"x"}]}"""),
        Case("trailing comma", """{"models":[{"name":"gemma3:4b"},]}"""),
        Case("unclosed string", """{"models":[{"name":"gemma3:4b}]}"""));

    /// <summary>The caller answers 502 then: an unfiltered list is never passed on, and nothing has been written.</summary>
    [TestCaseSource(nameof(NotModelLists))]
    public void NotOneJsonObject_NotFilteredNothingWritten(string json, BufferShape shape)
    {
        Assert.That(Filter(json, ModelListFormat.Ollama, shape), Is.EqualTo((false, "")));
    }
}
