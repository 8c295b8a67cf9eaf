namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// The failure guard for every awaited event. Tests wait for events (a byte that arrives, a connection that
/// closes), never for time; this limit is only ever reached when the awaited event does not happen.
/// </summary>
internal static class EventTimeout
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    public static Task OrTimeoutAsync(this Task task) => task.WaitAsync(Limit);

    public static Task<T> OrTimeoutAsync<T>(this Task<T> task) => task.WaitAsync(Limit);

    public static CancellationTokenSource NewSource() => new(Limit);

    /// <summary>
    /// Waits for state that no event announces (bytes sitting in a pipe, a count the proxy keeps to itself): checked
    /// every 5 ms, bounded by the failure guard.
    /// </summary>
    public static async Task UntilAsync(Func<bool> condition)
    {
        using var timeout = NewSource();
        while (!condition())
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), timeout.Token);
        }
    }
}
