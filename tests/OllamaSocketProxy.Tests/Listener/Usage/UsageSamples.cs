using OllamaSocketProxy.Listener.Usage;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>A response body as an upstream sends it (before any chunked framing), and the counts it holds.</summary>
public sealed record UsageSample(string Name, UsageFormat Format, string Body, long? Prompt, long? Completion)
{
    public override string ToString() => Name;
}

/// <summary>
/// Bodies in the shapes the APIs document and Ollama's server writes them: Ollama's api docs (docs/api.md), the
/// OpenAI chat completions and responses references (<c>stream_options.include_usage</c>), Anthropic's Messages
/// streaming page, and the writers in Ollama's middleware (openai.go, anthropic.go), which put every event on one
/// <c>data:</c> line.
/// </summary>
public static class UsageSamples
{
    public static readonly UsageSample OllamaChatStream = new(
        "Ollama /api/chat stream",
        UsageFormat.OllamaJsonLines,
        Lines(
            """{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The"},"done":false}""",
            """{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":" sky is blue, Grüße 👋"},"done":false}""",
            """{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}"""),
        26,
        282);

    public static readonly UsageSample OllamaGenerateStream = new(
        "Ollama /api/generate stream with context",
        UsageFormat.OllamaJsonLines,
        Lines(
            """{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","response":"The","done":false}""",
            """{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","response":"","done":true,"context":[1,2,3,128006,882],"total_duration":10706818083,"load_duration":6338219291,"prompt_eval_count":26,"prompt_eval_duration":130079000,"eval_count":259,"eval_duration":4232710000}"""),
        26,
        259);

    /// <summary>Lines that hold the names of counts, but not where the counts are: only the final object counts.</summary>
    public static readonly UsageSample OllamaStreamWithDecoys = new(
        "Ollama stream with nested look-alikes",
        UsageFormat.OllamaJsonLines,
        Lines(
            """{"model":"gpt-oss:20b","created_at":"2025-08-05T18:40:03Z","message":{"role":"assistant","content":"","thinking":"say \"done\":true, eval_count","done":true},"done":false}""",
            """{"model":"gpt-oss:20b","created_at":"2025-08-05T18:40:04Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"count","arguments":{"prompt_eval_count":1,"eval_count":2}}}]},"done":false}""",
            """{"model":"gpt-oss:20b","created_at":"2025-08-05T18:40:05Z","message":{"role":"assistant","content":"true"},"done": false}""",
            """{"model":"gpt-oss:20b","created_at":"2025-08-05T18:40:06Z","message":{"role":"assistant","content":""},"done_reason":"stop","done" : true ,"total_duration":912345678,"prompt_eval_count":71,"eval_count":19}"""),
        71,
        19);

    /// <summary>Go leaves out a count of 0 (omitempty): a final object without counts counted nothing.</summary>
    public static readonly UsageSample OllamaStreamWithoutCounts = new(
        "Ollama stream whose final object omits zero counts",
        UsageFormat.OllamaJsonLines,
        Lines("""{"model":"llama3.2","created_at":"2024-09-12T21:17:29.110811Z","message":{"role":"assistant","content":""},"done_reason":"load","done":true}"""),
        0,
        0);

    public static readonly UsageSample OllamaChatAnswer = new(
        "Ollama /api/chat answer",
        UsageFormat.OllamaJson,
        Lines("""{"model":"llama3.2","created_at":"2023-12-12T14:13:43.416799Z","message":{"role":"assistant","content":"Hello! How are you today?"},"done_reason":"stop","done":true,"total_duration":5191566416,"load_duration":2154458,"prompt_eval_count":26,"prompt_eval_duration":383809000,"eval_count":298,"eval_duration":4799921000}"""),
        26,
        298);

    public static readonly UsageSample OllamaEmbed = new(
        "Ollama /api/embed answer",
        UsageFormat.OllamaJson,
        Lines("""{"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862,0.05007221,0.04692972,0.054916814,0.008599704,0.105441414,-0.025878139,0.12958129,0.031952348],[-0.0098027075,0.06042469,0.025257962,-0.006364387,0.07272725,0.017194884,0.09032035,-0.051705178,0.09951512,0.09072481]],"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}"""),
        8,
        0);

    public static readonly UsageSample OpenAiChatStream = new(
        "OpenAI chat stream with usage",
        UsageFormat.OpenAiEventStream,
        Events(
            """data: {"id":"chatcmpl-623","object":"chat.completion.chunk","created":1739470000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"finish_reason":null}]}""",
            """data: {"id":"chatcmpl-623","object":"chat.completion.chunk","created":1739470000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":" there, \"usage\" is a word"},"finish_reason":null}]}""",
            """data: {"id":"chatcmpl-623","object":"chat.completion.chunk","created":1739470000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop"}]}""",
            """data: {"id":"chatcmpl-623","object":"chat.completion.chunk","created":1739470000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[],"usage":{"prompt_tokens":26,"completion_tokens":10,"total_tokens":36}}""",
            "data: [DONE]"),
        26,
        10);

    public static readonly UsageSample OpenAiChatStreamWithoutUsage = new(
        "OpenAI chat stream without usage",
        UsageFormat.OpenAiEventStream,
        Events(
            """data: {"id":"chatcmpl-abc123","object":"chat.completion.chunk","created":1743580800,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""",
            """data: {"id":"chatcmpl-abc123","object":"chat.completion.chunk","created":1743580800,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}""",
            """data: {"id":"chatcmpl-abc123","object":"chat.completion.chunk","created":1743580800,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""",
            "data: [DONE]"),
        null,
        null);

    /// <summary>OpenAI's own shape: every chunk has <c>"usage":null</c>, spaces after some colons.</summary>
    public static readonly UsageSample OpenAiChatStreamWithNullUsage = new(
        "OpenAI chat stream with usage null until the last chunk",
        UsageFormat.OpenAiEventStream,
        Events(
            """data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini", "system_fingerprint": "fp_44709d6fcb", "choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}""",
            """data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini", "system_fingerprint": "fp_44709d6fcb", "choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}""",
            """data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini", "system_fingerprint": "fp_44709d6fcb", "choices":[],"usage": {"prompt_tokens": 8, "completion_tokens": 4, "total_tokens": 12, "prompt_tokens_details": {"cached_tokens": 0}}}""",
            "data: [DONE]"),
        8,
        4);

    /// <summary>Ollama's /v1/completions writes a zero usage into every chunk when usage is asked for; the last one counts.</summary>
    public static readonly UsageSample OpenAiCompletionsStream = new(
        "OpenAI completions stream with zero usage in every chunk",
        UsageFormat.OpenAiEventStream,
        Events(
            """data: {"id":"cmpl-464","object":"text_completion","created":1739470000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"text":"Once","index":0,"finish_reason":null}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}""",
            """data: {"id":"cmpl-464","object":"text_completion","created":1739470000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"text":"","index":0,"finish_reason":"stop"}],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}""",
            """data: {"id":"cmpl-464","object":"text_completion","created":1739470000,"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[],"usage":{"prompt_tokens":30,"completion_tokens":2,"total_tokens":32}}""",
            "data: [DONE]"),
        30,
        2);

    /// <summary>An event stream as a server may also write it: CRLF, comments, named events, no space after the colon.</summary>
    public static readonly UsageSample OpenAiStreamWithCrLf = new(
        "OpenAI stream with CRLF, comments and event names",
        UsageFormat.OpenAiEventStream,
        ": keep-alive\r\n\r\nevent: chunk\r\nid: 1\r\ndata:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\r\n\r\n"
        + "retry: 1000\r\ndata:{\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1,\"total_tokens\":13}}\r\n\r\ndata:[DONE]\r\n\r\n",
        12,
        1);

    public static readonly UsageSample OpenAiStreamWithCr = new(
        "OpenAI stream with CR line ends",
        UsageFormat.OpenAiEventStream,
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\r\rdata: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\r\rdata: [DONE]\r\r",
        5,
        3);

    public static readonly UsageSample OpenAiChatAnswer = new(
        "OpenAI chat answer",
        UsageFormat.OpenAiJson,
        Lines("""{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I assist you today?","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default"}"""),
        19,
        10);

    /// <summary>The same answer as the reference pages print it: one JSON value over many lines.</summary>
    public static readonly UsageSample OpenAiChatAnswerIndented = new(
        "OpenAI chat answer, indented",
        UsageFormat.OpenAiJson,
        """
        {
          "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
          "object": "chat.completion",
          "created": 1741569952,
          "model": "gpt-4.1-2025-04-14",
          "choices": [
            {
              "index": 0,
              "message": {
                "role": "assistant",
                "content": "Hello! How can I assist you today?",
                "refusal": null,
                "annotations": []
              },
              "logprobs": null,
              "finish_reason": "stop"
            }
          ],
          "usage": {
            "prompt_tokens": 19,
            "completion_tokens": 10,
            "total_tokens": 29
          },
          "service_tier": "default"
        }

        """,
        19,
        10);

    public static readonly UsageSample OpenAiEmbeddings = new(
        "OpenAI embeddings answer",
        UsageFormat.OpenAiJson,
        Lines("""{"object":"list","data":[{"object":"embedding","embedding":[0.0023064255,-0.009327292,-0.0028842222,0.012345e-3],"index":0}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"""),
        8,
        0);

    public static readonly UsageSample OpenAiResponsesAnswer = new(
        "OpenAI responses answer",
        UsageFormat.OpenAiJson,
        Lines("""{"id":"resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b","object":"response","created_at":1741476542,"status":"completed","error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"model":"gpt-4.1-2025-04-14","output":[{"type":"message","id":"msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b","status":"completed","role":"assistant","content":[{"type":"output_text","text":"In a peaceful grove beneath a silver moon, a unicorn named Lumina discovered a hidden pool.","annotations":[]}]}],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"store":true,"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":0},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":123},"user":null,"metadata":{}}"""),
        36,
        87);

    /// <summary>Ollama's responses stream: the usage is in <c>response.completed</c>, inside <c>response</c>; earlier events carry <c>"usage":null</c>.</summary>
    public static readonly UsageSample OpenAiResponsesStream = new(
        "OpenAI responses stream",
        UsageFormat.OpenAiEventStream,
        Events(
            """event: response.created""" + "\n" + """data: {"response":{"created_at":1752000000,"id":"resp_123456","model":"qwen3:8b","object":"response","output":[],"status":"in_progress","usage":null},"sequence_number":0,"type":"response.created"}""",
            """event: response.output_text.delta""" + "\n" + """data: {"content_index":0,"delta":"Hi there","item_id":"msg_654321","output_index":0,"sequence_number":4,"type":"response.output_text.delta"}""",
            """event: response.completed""" + "\n" + """data: {"response":{"created_at":1752000000,"id":"resp_123456","model":"qwen3:8b","object":"response","output":[{"content":[{"annotations":[],"logprobs":[],"text":"Hi there","type":"output_text"}],"id":"msg_654321","role":"assistant","status":"completed","type":"message"}],"status":"completed","usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":0},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":15}},"sequence_number":9,"type":"response.completed"}"""),
        12,
        3);

    /// <summary>The example on Anthropic's streaming page: spaces after colons, a ping, usage in two events.</summary>
    public static readonly UsageSample AnthropicStream = new(
        "Anthropic messages stream",
        UsageFormat.AnthropicEventStream,
        Events(
            "event: message_start\n" + """data: {"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [], "model": "claude-3-5-sonnet-20241022", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}""",
            "event: content_block_start\n" + """data: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}""",
            "event: ping\n" + """data: {"type": "ping"}""",
            "event: content_block_delta\n" + """data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}""",
            "event: content_block_delta\n" + """data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}}""",
            "event: content_block_stop\n" + """data: {"type": "content_block_stop", "index": 0}""",
            "event: message_delta\n" + """data: {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence":null}, "usage": {"output_tokens": 15}}""",
            "event: message_stop\n" + """data: {"type": "message_stop"}"""),
        25,
        15);

    /// <summary>Anthropic's API today: cache counts, a placeholder output count in message_start, the input again in message_delta.</summary>
    public static readonly UsageSample AnthropicStreamWithCache = new(
        "Anthropic messages stream with cache counts",
        UsageFormat.AnthropicEventStream,
        Events(
            "event: message_start\n" + """data: {"type":"message_start","message":{"model":"claude-haiku-4-5-20251001","id":"msg_01K2JbSUMYhez5RHoK9ZCj9U","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":849,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":10,"service_tier":"standard"}}}""",
            "event: content_block_start\n" + """data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_01KFbKqPYSuAKujiL6mTfzYA","name":"json","input":{}}}""",
            "event: content_block_delta\n" + """data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"usage\": {\"output_tokens\": 99999}}"}}""",
            "event: content_block_stop\n" + """data: {"type":"content_block_stop","index":0}""",
            "event: message_delta\n" + """data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":849,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":47}}""",
            "event: message_stop\n" + """data: {"type":"message_stop"}"""),
        849,
        47);

    /// <summary>Ollama's messages stream: message_start carries an estimate of the input, message_delta the counted one.</summary>
    public static readonly UsageSample AnthropicStreamFromOllama = new(
        "Anthropic messages stream from Ollama",
        UsageFormat.AnthropicEventStream,
        Events(
            "event: message_start\n" + """data: {"type":"message_start","message":{"id":"msg_5f3c2a1b0e9d8c7b6a594837","type":"message","role":"assistant","model":"qwen3-coder:480b","content":[],"usage":{"input_tokens":7,"output_tokens":0}}}""",
            "event: content_block_start\n" + """data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""",
            "event: content_block_delta\n" + """data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}""",
            "event: content_block_stop\n" + """data: {"type":"content_block_stop","index":0}""",
            "event: message_delta\n" + """data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":12,"output_tokens":5}}""",
            "event: message_stop\n" + """data: {"type":"message_stop"}"""),
        12,
        5);

    public static readonly UsageSample AnthropicAnswer = new(
        "Anthropic messages answer",
        UsageFormat.AnthropicJson,
        Lines("""{"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[{"type":"text","text":"Hi! My name is Claude."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,"output_tokens":503}}"""),
        2095,
        503);

    public static IReadOnlyList<UsageSample> All { get; } =
    [
        OllamaChatStream,
        OllamaGenerateStream,
        OllamaStreamWithDecoys,
        OllamaStreamWithoutCounts,
        OllamaChatAnswer,
        OllamaEmbed,
        OpenAiChatStream,
        OpenAiChatStreamWithoutUsage,
        OpenAiChatStreamWithNullUsage,
        OpenAiCompletionsStream,
        OpenAiStreamWithCrLf,
        OpenAiStreamWithCr,
        OpenAiChatAnswer,
        OpenAiChatAnswerIndented,
        OpenAiEmbeddings,
        OpenAiResponsesAnswer,
        OpenAiResponsesStream,
        AnthropicStream,
        AnthropicStreamWithCache,
        AnthropicStreamFromOllama,
        AnthropicAnswer,
    ];

    /// <summary>NDJSON, or one JSON answer as Go's encoder ends it: every value followed by LF.</summary>
    public static string Lines(params string[] values) => string.Concat(values.Select(v => v + "\n"));

    /// <summary>An event stream as Ollama writes it: each event's lines, then an empty line.</summary>
    public static string Events(params string[] events) => string.Concat(events.Select(e => e + "\n\n"));
}
