namespace OllamaSocketProxy.Listener.Usage;

/// <summary>Which fields of a JSON value hold token counts, and what a value that holds them means (<see cref="UsageJsonScanner.ApplyTo"/>).</summary>
internal enum UsageDialect : byte
{
    /// <summary>Top-level <c>done</c>, <c>prompt_eval_count</c>, <c>eval_count</c>.</summary>
    Ollama,

    /// <summary><c>usage</c> at the top level, or in <c>response</c> (the responses API's stream events).</summary>
    OpenAi,

    /// <summary><c>usage</c> at the top level (<c>message_delta</c>, a whole answer), or in <c>message</c> (<c>message_start</c>).</summary>
    Anthropic,
}
