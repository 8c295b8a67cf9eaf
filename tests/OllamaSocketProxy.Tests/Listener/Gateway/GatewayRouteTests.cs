using System.Text;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Http1;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>The routes that carry a model, need <c>manage</c>, or answer a model list, however the path is spelled.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class GatewayRouteTests
{
    [TestCase("/api/chat", GatewayRouteKind.ModelInBody)]
    [TestCase("/api/generate", GatewayRouteKind.ModelInBody)]
    [TestCase("/api/embed", GatewayRouteKind.ModelInBody)]
    [TestCase("/api/embeddings", GatewayRouteKind.ModelInBody)]
    [TestCase("/v1/chat/completions", GatewayRouteKind.ModelInBody)]
    [TestCase("/v1/completions", GatewayRouteKind.ModelInBody)]
    [TestCase("/v1/embeddings", GatewayRouteKind.ModelInBody)]
    [TestCase("/v1/responses", GatewayRouteKind.ModelInBody)]
    [TestCase("/v1/messages", GatewayRouteKind.ModelInBody)]
    [TestCase("/v1/images/generations", GatewayRouteKind.ModelInBody)]
    [TestCase("/v1/images/edits", GatewayRouteKind.ModelInBody)]
    [TestCase("/v1/audio/transcriptions", GatewayRouteKind.ModelInBody)]
    [TestCase("/api/show", GatewayRouteKind.ModelOrNameInBody)]
    [TestCase("/v1/models/gpt-oss:20b", GatewayRouteKind.ModelInPath)]
    [TestCase("/api/tags", GatewayRouteKind.OllamaModelList)]
    [TestCase("/api/ps", GatewayRouteKind.OllamaModelList)]
    [TestCase("/v1/models", GatewayRouteKind.OpenAiModelList)]
    [TestCase("/api/pull", GatewayRouteKind.Manage)]
    [TestCase("/api/push", GatewayRouteKind.Manage)]
    [TestCase("/api/create", GatewayRouteKind.Manage)]
    [TestCase("/api/copy", GatewayRouteKind.Manage)]
    [TestCase("/api/delete", GatewayRouteKind.Manage)]
    [TestCase("/api/blobs", GatewayRouteKind.Manage)]
    [TestCase("/api/blobs/sha256:0123abcd", GatewayRouteKind.Manage)]
    [TestCase("/api/me", GatewayRouteKind.Manage)]
    [TestCase("/api/signout", GatewayRouteKind.Manage)]
    [TestCase("/api/user/keys/c3NoLWVk", GatewayRouteKind.Manage)]
    [TestCase("/api/version", GatewayRouteKind.NoModel)]
    [TestCase("/api/status", GatewayRouteKind.NoModel)]
    [TestCase("/api/web_search", GatewayRouteKind.NoModel)]
    [TestCase("/api/web_fetch", GatewayRouteKind.NoModel)]
    [TestCase("/api/experimental/web_search", GatewayRouteKind.NoModel)]
    [TestCase("/api/experimental/web_fetch", GatewayRouteKind.NoModel)]
    [TestCase("/api", GatewayRouteKind.Other)]
    [TestCase("/api/", GatewayRouteKind.Other)]
    [TestCase("/api/chatx", GatewayRouteKind.Other)]
    [TestCase("/api/chat/x", GatewayRouteKind.Other)]
    [TestCase("/api/v1/models", GatewayRouteKind.Other)]
    [TestCase("/api/user/keys", GatewayRouteKind.Other)]
    [TestCase("/v1/messages/count_tokens", GatewayRouteKind.Other)]
    [TestCase("/api/future", GatewayRouteKind.Other)]
    public void OllamaRoute_Classified(string path, GatewayRouteKind kind)
    {
        Assert.That(GatewayRoute.Classify(Latin1.Bytes(path)), Is.EqualTo(kind));
    }

    /// <summary>A path another server could route to a checked route is checked as that route.</summary>
    [TestCase("/api/%63hat", GatewayRouteKind.ModelInBody)]
    [TestCase("/api/%63%68%61%74", GatewayRouteKind.ModelInBody)]
    [TestCase("/%61pi/tags", GatewayRouteKind.OllamaModelList)]
    [TestCase("/API/CHAT", GatewayRouteKind.ModelInBody)]
    [TestCase("/Api/Pull", GatewayRouteKind.Manage)]
    [TestCase("/api/chat/", GatewayRouteKind.ModelInBody)]
    [TestCase("/api//chat", GatewayRouteKind.ModelInBody)]
    [TestCase("//api///chat//", GatewayRouteKind.ModelInBody)]
    [TestCase("/v1/models/", GatewayRouteKind.OpenAiModelList)]
    [TestCase("/v1/models/x/", GatewayRouteKind.ModelInPath)]
    [TestCase("/api/blobs/", GatewayRouteKind.Manage)]
    [TestCase("/api/chat%", GatewayRouteKind.Other)]
    [TestCase("/api/chat%3", GatewayRouteKind.Other)]
    [TestCase("/api/chat%zz", GatewayRouteKind.Other)]
    public void OtherSpellingOfARoute_ClassifiedAsTheRoute(string path, GatewayRouteKind kind)
    {
        Assert.That(GatewayRoute.Classify(Latin1.Bytes(path)), Is.EqualTo(kind));
    }

    /// <summary>The forwarded target as the connection holds it: the mapped prefix, then the client's target with its query.</summary>
    [TestCase("/chat?stream=false", GatewayRouteKind.ModelInBody)]
    [TestCase("/api/api/tags?x=/api/pull", GatewayRouteKind.OllamaModelList)]
    [TestCase("/v1/models?", GatewayRouteKind.OpenAiModelList)]
    [TestCase("/pull", GatewayRouteKind.Manage)]
    [TestCase("/tags/", GatewayRouteKind.OllamaModelList)]
    [TestCase("/x?/api/chat", GatewayRouteKind.Other)]
    public void MappedTarget_ClassifiedWithoutItsQuery(string target, GatewayRouteKind kind)
    {
        var bytes = Latin1.Bytes(target);
        var mapped = RequestTarget.Map(bytes);

        Assert.That(GatewayRoute.Classify(MappedTarget.PrefixBytes(mapped.Prefix), bytes.AsSpan(mapped.RestStart)), Is.EqualTo(kind));
    }

    [Test]
    public void PathLongerThanTheStackBuffer_Classified()
    {
        var path = Latin1.Bytes("/v1/models/" + new string('a', 600) + "%3A1");

        Assert.That(GatewayRoute.Classify(path), Is.EqualTo(GatewayRouteKind.ModelInPath));
    }

    [TestCase("/v1/models/gpt-oss:20b", "gpt-oss:20b")]
    [TestCase("/v1/models/gpt-oss%3A20b", "gpt-oss:20b")]
    [TestCase("/V1/Models/Gemma3/", "Gemma3")]
    [TestCase("/v1//models//qwen3", "qwen3")]
    [TestCase("/v1/models/a%22b", "a\"b")]
    public void ModelInPath_Decoded(string path, string model)
    {
        var name = new byte[RequestModel.MaxNameLength];

        var found = GatewayRoute.TryGetPathModel(Latin1.Bytes(path), name, out var length);

        Assert.That((found, Encoding.UTF8.GetString(name, 0, length)), Is.EqualTo((true, model)));
    }

    [TestCase("/v1/models")]
    [TestCase("/v1/models/")]
    [TestCase("/api/chat")]
    [TestCase("/v1/modelsx/a")]
    public void PathWithoutModel_NoModel(string path)
    {
        Assert.That(GatewayRoute.TryGetPathModel(Latin1.Bytes(path), new byte[64], out _), Is.False);
    }

    [Test]
    public void PathModelLongerThanTheBuffer_NoModel()
    {
        var path = Latin1.Bytes("/v1/models/" + new string('a', 600));

        Assert.That(
            (GatewayRoute.TryGetPathModel(path, new byte[599], out _), GatewayRoute.TryGetPathModel(path, new byte[600], out var length)),
            Is.EqualTo((false, true)));
        Assert.That(length, Is.EqualTo(600));
    }
}
