using System.Text;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Http1;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>The rules between the pieces: manage routes, where each route names its model, and unknown routes.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ModelPolicyTests
{
    private static readonly ModelAllowList Kids = CreateList("gemma3:4b");

    private static ModelAllowList CreateList(params string[] patterns)
    {
        ModelAllowList.TryCreate(patterns, out var list, out _);
        return list!;
    }

    private static (ModelDecision Decision, string Name) Decide(string path, string body, bool restricted, bool manage, BufferShape shape)
    {
        var pathBytes = Latin1.Bytes(path);
        var name = new byte[RequestModel.MaxNameLength];
        var bodyModel = new BodyModel();
        bodyModel.Reset(shape.Build(Encoding.UTF8.GetBytes(body)));
        var decision = ModelPolicy.Decide(
            GatewayRoute.Classify(pathBytes), restricted ? Kids : ModelAllowList.Everything, manage, pathBytes, bodyModel, name, out var length, out _);
        return (decision, Encoding.UTF8.GetString(name, 0, length));
    }

    private static IEnumerable<TestCaseData> Requests() => Cross(
        Case("allowed model", "/api/chat", """{"model":"gemma3:4b","messages":[]}""", true, false, ModelDecision.Allowed, "gemma3:4b"),
        Case("other model", "/api/chat", """{"model":"gpt-oss:20b"}""", true, false, ModelDecision.NotAllowed, "gpt-oss:20b"),
        Case("OpenAI route", "/v1/chat/completions", """{"model":"GEMMA3:4B"}""", true, false, ModelDecision.Allowed, "GEMMA3:4B"),
        Case("no model", "/api/generate", """{"prompt":"hi"}""", true, false, ModelDecision.ModelRequired, ""),
        Case("two models", "/api/chat", """{"model":"gemma3:4b","Model":"gpt-oss:20b"}""", true, false, ModelDecision.ModelRequired, ""),
        Case("not JSON", "/api/chat", "model=gemma3:4b", true, false, ModelDecision.ModelRequired, ""),
        Case("multipart form", "/v1/audio/transcriptions", "--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nx\r\n--b--", true, false, ModelDecision.ModelRequired, ""),
        Case("show by legacy name", "/api/show", """{"name":"gemma3:4b"}""", true, false, ModelDecision.Allowed, "gemma3:4b"),
        Case("show another model", "/api/show", """{"name":"gemma3:4b","model":"llama3"}""", true, false, ModelDecision.NotAllowed, "llama3"),
        Case("model in the path", "/v1/models/gemma3%3A4b", "", true, false, ModelDecision.Allowed, "gemma3:4b"),
        Case("other model in the path", "/v1/models/llama3", "", true, false, ModelDecision.NotAllowed, "llama3"),
        Case("model list", "/api/tags", "", true, false, ModelDecision.Allowed, ""),
        Case("version", "/api/version", "", true, false, ModelDecision.Allowed, ""),
        Case("pull without manage", "/api/pull", """{"model":"gemma3:4b"}""", true, false, ModelDecision.ManageRefused, ""),
        Case("pull with manage", "/api/pull", """{"model":"llama3"}""", true, true, ModelDecision.Allowed, ""),
        Case("delete by an unrestricted client without manage", "/api/delete", """{"model":"x"}""", false, false, ModelDecision.ManageRefused, ""),
        Case("unrestricted client, body not read", "/api/chat", """{"model":"llama3","model":"x"}""", false, false, ModelDecision.Allowed, ""),
        Case("unknown route naming another model", "/api/future", """{"model":"llama3"}""", true, false, ModelDecision.NotAllowed, "llama3"),
        Case("unknown route naming an allowed model", "/api/future", """{"model":"gemma3:4b"}""", true, false, ModelDecision.Allowed, "gemma3:4b"),
        Case("unknown route naming two models", "/api/future", """{"model":"gemma3:4b","model":"x"}""", true, false, ModelDecision.ModelRequired, ""),
        Case("unknown route without a model", "/api/future", """{"x":1}""", true, false, ModelDecision.Allowed, ""),
        Case("unknown route, not JSON", "/api/future", "x=1", true, false, ModelDecision.Allowed, ""));

    [TestCaseSource(nameof(Requests))]
    public void Request_DecidedByRouteListAndBody(
        string path, string body, bool restricted, bool manage, ModelDecision decision, string model, BufferShape shape)
    {
        Assert.That(Decide(path, body, restricted, manage, shape), Is.EqualTo((decision, model)));
    }
}
