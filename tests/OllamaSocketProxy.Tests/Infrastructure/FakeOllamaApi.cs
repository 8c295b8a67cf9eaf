using System.Text.Json;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// A small fake of Ollama's API as an upstream handler, with the JSON shapes of Ollama's API documentation:
/// <c>/api/chat</c> and <c>/api/generate</c> (NDJSON streams or one object), <c>/api/tags</c>, <c>/api/show</c>,
/// <c>/api/embed</c>, and the OpenAI-compatible <c>/v1/chat/completions</c> (SSE or one object) and <c>/v1/models</c>.
/// Every generated text is "Hello, world", in two pieces when streamed.
/// </summary>
public static class FakeOllamaApi
{
    public const string Model = "llama3.2";
    public const string Answer = "Hello, world";

    private const string CreatedAt = "2025-01-01T12:00:00.000000Z";
    private const string Stats = """
        "total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":2,"eval_duration":4535599000
        """;

    private const string Details = """
        {"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"3.2B","quantization_level":"Q4_K_M"}
        """;

    private static readonly string[] Pieces = ["Hello", ", world"];

    public static Task HandleAsync(UpstreamExchange exchange)
    {
        var request = exchange.Request;
        var path = request.Target.Split('?')[0];
        return (request.Method, path) switch
        {
            ("POST", "/api/chat") => ChatAsync(exchange),
            ("POST", "/api/generate") => GenerateAsync(exchange),
            ("GET", "/api/tags") => exchange.RespondAsync(200, "application/json; charset=utf-8", $$"""
                {"models":[{"name":"{{Model}}:latest","model":"{{Model}}:latest","modified_at":"{{CreatedAt}}","size":2019393189,"digest":"a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72","details":{{Details}}}]}
                """),
            ("POST", "/api/show") => exchange.RespondAsync(200, "application/json; charset=utf-8", $$"""
                {"license":"LLAMA 3.2 COMMUNITY LICENSE","modelfile":"FROM {{Model}}","parameters":"stop \"<|eot_id|>\"","template":"{{"{{"}} .Prompt {{"}}"}}","details":{{Details}},"model_info":{"general.architecture":"llama","general.parameter_count":3212749888},"capabilities":["completion","tools"],"modified_at":"{{CreatedAt}}"}
                """),
            ("POST", "/api/embed") => exchange.RespondAsync(200, "application/json; charset=utf-8", $$"""
                {"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862,0.05007221],[-0.0098027075,0.06042469,0.025257962]],"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}
                """),
            ("POST", "/v1/chat/completions") => ChatCompletionsAsync(exchange),
            ("GET", "/v1/models") => exchange.RespondAsync(200, "application/json", """
                {"object":"list","data":[{"id":"llama3.2:latest","object":"model","created":1735732800,"owned_by":"library"},{"id":"gpt-oss:120b","object":"model","created":1735732800,"owned_by":"library"}]}
                """),
            _ => exchange.RespondAsync(404, "application/json; charset=utf-8", """{"error":"not found"}"""),
        };
    }

    private static Task ChatAsync(UpstreamExchange exchange)
    {
        string Line(string content, bool done) => done
            ? $$"""{"model":"{{Model}}","created_at":"{{CreatedAt}}","message":{"role":"assistant","content":"{{content}}"},"done":true,"done_reason":"stop",{{Stats}}}"""
            : $$"""{"model":"{{Model}}","created_at":"{{CreatedAt}}","message":{"role":"assistant","content":"{{content}}"},"done":false}""";

        return Streams(exchange.Request, defaultStream: true)
            ? exchange.RespondChunkedAsync("application/x-ndjson", [.. Pieces.Select(piece => Line(piece, false) + "\n"), Line("", true) + "\n"])
            : exchange.RespondAsync(200, "application/json; charset=utf-8", Line(Answer, true));
    }

    private static Task GenerateAsync(UpstreamExchange exchange)
    {
        string Line(string response, bool done) => done
            ? $$"""{"model":"{{Model}}","created_at":"{{CreatedAt}}","response":"{{response}}","done":true,"done_reason":"stop","context":[1,2,3],{{Stats}}}"""
            : $$"""{"model":"{{Model}}","created_at":"{{CreatedAt}}","response":"{{response}}","done":false}""";

        return Streams(exchange.Request, defaultStream: true)
            ? exchange.RespondChunkedAsync("application/x-ndjson", [.. Pieces.Select(piece => Line(piece, false) + "\n"), Line("", true) + "\n"])
            : exchange.RespondAsync(200, "application/json; charset=utf-8", Line(Answer, true));
    }

    private static Task ChatCompletionsAsync(UpstreamExchange exchange)
    {
        const string Prefix = "\"id\":\"chatcmpl-42\",\"created\":1735732800,\"model\":\"llama3.2\",\"system_fingerprint\":\"fp_ollama\"";
        string Event(string content, string? finishReason) =>
            $$$"""data: {{{{Prefix}}},"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"{{{content}}}"},"finish_reason":{{{(finishReason is null ? "null" : $"\"{finishReason}\"")}}}}]}""" + "\n\n";

        return Streams(exchange.Request, defaultStream: false)
            ? exchange.RespondChunkedAsync("text/event-stream", [.. Pieces.Select(piece => Event(piece, null)), Event("", "stop"), "data: [DONE]\n\n"])
            : exchange.RespondAsync(200, "application/json", $$$"""
                {{{{Prefix}}},"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"{{{Answer}}}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}
                """);
    }

    private static bool Streams(ReceivedRequest request, bool defaultStream)
    {
        using var json = JsonDocument.Parse(request.Body);
        return json.RootElement.TryGetProperty("stream", out var stream) ? stream.ValueKind == JsonValueKind.True : defaultStream;
    }
}
