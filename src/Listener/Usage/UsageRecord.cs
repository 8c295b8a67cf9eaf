namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// One finished request, as the usage store counts it. No prompt or answer text: names, numbers and times only.
/// </summary>
/// <param name="At">When the request finished, in UTC; the store files it under the hour it falls in.</param>
/// <param name="Client">The client's name (<c>default</c> without a clients file).</param>
/// <param name="Model">The model the request named, or <c>-</c> when it named none.</param>
/// <param name="Key">The upstream key's label, or <c>-</c> when no key served the request.</param>
/// <param name="Route">The route's label, such as <c>/api/chat</c>.</param>
/// <param name="Status">The status the client was answered; the store keeps its class (2xx, 4xx, ...).</param>
/// <param name="PromptTokens">The prompt's token count when the answer carried one.</param>
/// <param name="CompletionTokens">The answer's token count when it carried one. A request with neither count is
/// counted as a request with unknown tokens; a request with one of them adds what it has.</param>
/// <param name="TimeToFirstByte">From the request's first byte to the response's first byte (zero if none was sent).</param>
/// <param name="Duration">From the request's first byte to the response's last.</param>
public readonly record struct UsageRecord(
    DateTimeOffset At,
    string Client,
    string Model,
    string Key,
    string Route,
    int Status,
    long? PromptTokens,
    long? CompletionTokens,
    TimeSpan TimeToFirstByte,
    TimeSpan Duration)
{
    /// <summary>What stands for a model or a key the request did not have.</summary>
    public const string None = "-";
}
