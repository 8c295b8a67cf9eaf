namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// A client's <c>max_concurrent</c> and <c>requests_per_minute</c> from the clients file; <c>null</c> is no limit.
/// </summary>
public readonly record struct ClientLimits
{
    /// <summary>The largest value either limit may take; it keeps the token bucket's arithmetic within a <c>long</c>.</summary>
    public const int MaxValue = 1_000_000;

    public static ClientLimits None => default;

    public ClientLimits(int? maxConcurrent, int? requestsPerMinute)
    {
        MaxConcurrent = Check(maxConcurrent, nameof(maxConcurrent));
        RequestsPerMinute = Check(requestsPerMinute, nameof(requestsPerMinute));
    }

    public int? MaxConcurrent { get; }
    public int? RequestsPerMinute { get; }

    public bool IsUnlimited => MaxConcurrent is null && RequestsPerMinute is null;

    private static int? Check(int? value, string name) => value is null or (>= 1 and <= MaxValue)
        ? value
        : throw new ArgumentOutOfRangeException(name, value, $"must be from 1 to {MaxValue}");
}
