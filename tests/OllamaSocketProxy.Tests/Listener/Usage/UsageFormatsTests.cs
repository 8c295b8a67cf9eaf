using System.Text;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Http1;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>The format of an answer, from its route and its head.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class UsageFormatsTests
{
    [TestCase("/api/chat", UsageApi.Ollama)]
    [TestCase("/api/generate", UsageApi.Ollama)]
    [TestCase("/api/embed", UsageApi.Ollama)]
    [TestCase("/v1/chat/completions", UsageApi.OpenAi)]
    [TestCase("/v1/completions", UsageApi.OpenAi)]
    [TestCase("/v1/embeddings", UsageApi.OpenAi)]
    [TestCase("/v1/responses", UsageApi.OpenAi)]
    [TestCase("/v1/messages", UsageApi.Anthropic)]
    [TestCase("/API/Chat", UsageApi.Ollama)]
    [TestCase("/api//chat/", UsageApi.Ollama)]
    [TestCase("/api/%63hat", UsageApi.Ollama)]
    [TestCase("/v1/chat%2Fcompletions", UsageApi.OpenAi)]
    [TestCase("/api/chat?stream=false", UsageApi.Ollama)]
    [TestCase("/api/embeddings", UsageApi.None)]
    [TestCase("/api/tags", UsageApi.None)]
    [TestCase("/api/pull", UsageApi.None)]
    [TestCase("/v1/models", UsageApi.None)]
    [TestCase("/v1/messages/count_tokens", UsageApi.None)]
    [TestCase("/api/chatx", UsageApi.None)]
    [TestCase("/api/chat/x", UsageApi.None)]
    [TestCase("/", UsageApi.None)]
    [TestCase("", UsageApi.None)]
    [TestCase("/api/chat/../../../../../../../../../../../../../../api/chat", UsageApi.None)]
    public void Classify_NamesTheApiOfTheRoute(string path, UsageApi api)
    {
        Assert.That(UsageFormats.Classify(Encoding.ASCII.GetBytes(path)), Is.EqualTo(api));
    }

    /// <summary>
    /// The usage observer takes a named route's gateway kind from the usage table instead of classifying the path a
    /// second time: for every named route, in every spelling, both tables must tell the same.
    /// </summary>
    [Test]
    public void Classify_NamedRoute_HasTheKindTheGatewayGivesIt()
    {
        string[] routes =
        [
            "/api/chat", "/api/generate", "/api/embed", "/api/embeddings", "/api/tags", "/api/ps", "/api/show", "/api/version",
            "/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete", "/v1/chat/completions", "/v1/completions",
            "/v1/embeddings", "/v1/responses", "/v1/messages", "/v1/models",
        ];
        var mismatches = new List<string>();
        foreach (var spelling in routes.SelectMany(route => new[] { route, route.ToUpperInvariant(), route + "?x=1" }))
        {
            var path = Encoding.ASCII.GetBytes(spelling);
            UsageFormats.Classify(default, path, out var route, out var kind);
            if (route == UsageFormats.OtherRoute)
            {
                mismatches.Add($"{spelling}: not named");
                continue;
            }

            if (kind != GatewayRoute.Classify(path))
            {
                mismatches.Add($"{spelling}: {kind}, gateway {GatewayRoute.Classify(path)}");
            }
        }

        Assert.That(mismatches, Is.Empty);
    }

    [TestCase("/chat", "/api/chat")]
    [TestCase("/api/api/generate", "/api/generate")]
    [TestCase("/v1/messages?beta=true", "/v1/messages")]
    [TestCase("http://other.host/v1/responses", "/v1/responses")]
    public void ClassifyMappedTarget_AsTheForwardedPath(string target, string forwarded)
    {
        var bytes = Encoding.ASCII.GetBytes(target);
        var mapped = RequestTarget.Map(bytes);

        var api = UsageFormats.Classify(MappedTarget.PrefixBytes(mapped.Prefix), bytes.AsSpan(mapped.RestStart));

        Assert.That(api, Is.EqualTo(UsageFormats.Classify(Encoding.ASCII.GetBytes(forwarded))).And.Not.EqualTo(UsageApi.None));
    }

    [TestCase(UsageApi.Ollama, "application/x-ndjson", UsageFormat.OllamaJsonLines)]
    [TestCase(UsageApi.Ollama, "application/ndjson", UsageFormat.OllamaJsonLines)]
    [TestCase(UsageApi.Ollama, "application/json; charset=utf-8", UsageFormat.OllamaJson)]
    [TestCase(UsageApi.Ollama, "Application/JSON", UsageFormat.OllamaJson)]
    [TestCase(UsageApi.Ollama, "text/event-stream", UsageFormat.None)]
    [TestCase(UsageApi.OpenAi, "text/event-stream", UsageFormat.OpenAiEventStream)]
    [TestCase(UsageApi.OpenAi, "text/event-stream;charset=utf-8", UsageFormat.OpenAiEventStream)]
    [TestCase(UsageApi.OpenAi, " application/json ", UsageFormat.OpenAiJson)]
    [TestCase(UsageApi.OpenAi, "application/x-ndjson", UsageFormat.None)]
    [TestCase(UsageApi.Anthropic, "text/event-stream", UsageFormat.AnthropicEventStream)]
    [TestCase(UsageApi.Anthropic, "application/json", UsageFormat.AnthropicJson)]
    [TestCase(UsageApi.Anthropic, "text/plain", UsageFormat.None)]
    [TestCase(UsageApi.OpenAi, "application/jsonx", UsageFormat.None)]
    [TestCase(UsageApi.OpenAi, "", UsageFormat.None)]
    [TestCase(UsageApi.None, "application/json", UsageFormat.None)]
    public void ForContentType_PicksTheFormat(UsageApi api, string contentType, UsageFormat format)
    {
        Assert.That(UsageFormats.For(api, Encoding.ASCII.GetBytes(contentType)), Is.EqualTo(format));
    }

    [TestCase("Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n", UsageFormat.OllamaJsonLines)]
    [TestCase("content-type: application/json\r\nContent-Length: 10\r\n", UsageFormat.OllamaJson)]
    [TestCase("Content-Type: application/json\r\nContent-Encoding: identity\r\n", UsageFormat.OllamaJson)]
    [TestCase("Content-Type: application/json\r\nContent-Type: application/json\r\n", UsageFormat.OllamaJson)]
    [TestCase("Content-Type: application/json\r\nContent-Encoding: gzip\r\n", UsageFormat.None)]
    [TestCase("Content-Encoding: identity, br\r\nContent-Type: application/json\r\n", UsageFormat.None)]
    [TestCase("Content-Type: application/json\r\nContent-Type: application/x-ndjson\r\n", UsageFormat.None)]
    [TestCase("Content-Length: 10\r\n", UsageFormat.None)]
    public void ForResponseHead_ReadsContentTypeAndCoding(string fields, UsageFormat format)
    {
        var head = ResponseParse.Run(BufferShapes.OneSegment.Build($"HTTP/1.1 200 OK\r\n{fields}\r\n")).Head;

        Assert.That(UsageFormats.For(UsageApi.Ollama, head), Is.EqualTo(format));
    }
}
