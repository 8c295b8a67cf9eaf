namespace OllamaSocketProxy.Listener.Usage;

/// <summary>Which API's usage fields a route answers with (<see cref="UsageFormats.Classify(ReadOnlySpan{byte})"/>).</summary>
public enum UsageApi : byte
{
    /// <summary>A route whose answer counts no tokens: model lists, pulls, version, and every unknown path.</summary>
    None,

    /// <summary><c>/api/chat</c>, <c>/api/generate</c>, <c>/api/embed</c>: <c>prompt_eval_count</c> and <c>eval_count</c>.</summary>
    Ollama,

    /// <summary>
    /// <c>/v1/chat/completions</c>, <c>/v1/completions</c>, <c>/v1/embeddings</c>, <c>/v1/responses</c>: a <c>usage</c>
    /// object (<c>prompt_tokens</c>/<c>completion_tokens</c>, or <c>input_tokens</c>/<c>output_tokens</c>).
    /// </summary>
    OpenAi,

    /// <summary><c>/v1/messages</c>: <c>usage.input_tokens</c> and <c>usage.output_tokens</c>, streamed in two events.</summary>
    Anthropic,
}
