namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// The running totals of one client, model and status: the requests answered and the tokens their answers counted.
/// The request path adds to them with interlocked operations; <see cref="ProxyMetrics"/>' observable counters read
/// them when a scrape or <c>dotnet-counters</c> asks. A caller may keep the tally it was given and pass it back to
/// <see cref="ProxyMetrics.TallyFor"/>, which returns it again while client, model and status stay the same.
/// </summary>
public sealed class RequestTally
{
    private long _requests;
    private long _promptTokens;
    private long _completionTokens;
    private int _counted;

    internal RequestTally(string client, string model, string status)
    {
        Client = client;
        Model = model;
        Status = status;
    }

    [Flags]
    private enum Counted
    {
        Prompt = 1,
        Completion = 2,
    }

    public string Client { get; }

    public string Model { get; }

    /// <summary>The status label (<see cref="StatusLabel"/>).</summary>
    public string Status { get; }

    internal long Requests => Interlocked.Read(ref _requests);

    /// <summary>The prompt tokens counted, or null while no answer reported any.</summary>
    internal long? PromptTokens => (Volatile.Read(ref _counted) & (int)Counted.Prompt) != 0 ? Interlocked.Read(ref _promptTokens) : null;

    /// <summary>The completion tokens counted, or null while no answer reported any.</summary>
    internal long? CompletionTokens => (Volatile.Read(ref _counted) & (int)Counted.Completion) != 0 ? Interlocked.Read(ref _completionTokens) : null;

    /// <summary>Whether this is the tally of these labels (the same strings come request after request: equal references end the compare).</summary>
    internal bool Is(string client, string model, string status) =>
        Same(Client, client) && Same(Model, model) && Same(Status, status);

    /// <summary>Equal strings; the reference is compared here, inline, since it is the same string nearly every time.</summary>
    private static bool Same(string a, string b) => ReferenceEquals(a, b) || string.Equals(a, b);

    internal void Add(long? promptTokens, long? completionTokens)
    {
        Interlocked.Increment(ref _requests);
        if (promptTokens is { } prompt)
        {
            Interlocked.Add(ref _promptTokens, prompt);
            MarkCounted(Counted.Prompt);
        }

        if (completionTokens is { } completion)
        {
            Interlocked.Add(ref _completionTokens, completion);
            MarkCounted(Counted.Completion);
        }
    }

    private void MarkCounted(Counted kind)
    {
        // Set after the sum: a reader that sees the mark sees the count that set it.
        if ((Volatile.Read(ref _counted) & (int)kind) == 0)
        {
            Interlocked.Or(ref _counted, (int)kind);
        }
    }
}
