namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// How long a key is benched after a 429 that names no reset time (neither <c>Retry-After</c> nor a time in its body).
/// </summary>
/// <remarks>
/// Ollama Cloud's session limit clears within its window of a few hours, its weekly limit within days; how much of
/// the window is left is not said. So the key is tried again after growing delays: each try that finds the limit
/// still in place costs one instant 429, retried at once on another key. The last step repeats, and bounds how long
/// a key whose limit has cleared stays unused.
/// <code>
/// limit named in the 429        1st      2nd      3rd      4th      then
/// session (or hourly)           15 min   30 min   1 h      2 h      every 2 h
/// weekly (or daily, monthly)    6 h      12 h     24 h     -        every 24 h
/// none                          1 min    2 min    5 min    15 min   every 15 min
/// </code>
/// The step counts the key's 429s of one kind in a row; any other answer from the key starts it over.
/// </remarks>
public static class BenchLadder
{
    /// <summary>Shortest bench, even for <c>Retry-After: 0</c> or a time already past: the retry goes to another key.</summary>
    public static readonly TimeSpan MinBench = TimeSpan.FromSeconds(1);

    /// <summary>Longest bench, whatever an answer names: a month covers a monthly allowance, and a restart clears it anyway.</summary>
    public static readonly TimeSpan MaxBench = TimeSpan.FromDays(31);

    private static readonly TimeSpan[] s_session =
        [TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(2)];

    private static readonly TimeSpan[] s_weekly = [TimeSpan.FromHours(6), TimeSpan.FromHours(12), TimeSpan.FromHours(24)];

    private static readonly TimeSpan[] s_other =
        [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15)];

    /// <summary>The bench for the 0-based <paramref name="step"/>-th 429 in a row of <paramref name="kind"/>.</summary>
    public static TimeSpan For(RateLimitKind kind, int step)
    {
        var ladder = kind switch
        {
            RateLimitKind.Session => s_session,
            RateLimitKind.Weekly => s_weekly,
            _ => s_other,
        };
        return ladder[Math.Clamp(step, 0, ladder.Length - 1)];
    }
}
