namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// Where a response carries its token counts: the API that answered and how its body is cut into JSON values
/// (<see cref="UsageFormats.For(UsageApi, ReadOnlySpan{byte})"/>). What <see cref="UsageReader"/> reads.
/// </summary>
public enum UsageFormat : byte
{
    /// <summary>Nothing to read: a route that counts no tokens, or a body of another media type or with a content coding.</summary>
    None,

    /// <summary>
    /// One Ollama JSON answer (<c>"stream":false</c>, <c>/api/embed</c>): <c>prompt_eval_count</c> and <c>eval_count</c>
    /// at its top level.
    /// </summary>
    OllamaJson,

    /// <summary>An Ollama NDJSON stream (<c>application/x-ndjson</c>): the counts are in the last object, the one with <c>"done":true</c>.</summary>
    OllamaJsonLines,

    /// <summary>One OpenAI-compatible JSON answer: its top-level <c>usage</c>.</summary>
    OpenAiJson,

    /// <summary>
    /// An OpenAI-compatible event stream: the last <c>data:</c> event that carries a <c>usage</c> object (chat and
    /// completions send one before <c>data: [DONE]</c> only when the client asked for it with
    /// <c>stream_options.include_usage</c>; the responses API sends it in <c>response.completed</c>).
    /// </summary>
    OpenAiEventStream,

    /// <summary>One Anthropic-compatible JSON answer: its top-level <c>usage</c>.</summary>
    AnthropicJson,

    /// <summary>
    /// An Anthropic-compatible event stream: input tokens in <c>message_start</c> (<c>message.usage</c>), output tokens
    /// (and, from Ollama, the input tokens counted again) in <c>message_delta</c> (<c>usage</c>).
    /// </summary>
    AnthropicEventStream,
}
