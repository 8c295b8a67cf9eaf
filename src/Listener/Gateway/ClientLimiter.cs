using System.Diagnostics;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// One client's <c>max_concurrent</c> and <c>requests_per_minute</c>. <see cref="TryAcquire"/> at the start of a
/// request, <see cref="Release"/> once when it ends (after each successful acquire, never after a refusal).
/// </summary>
/// <remarks>
/// The rate is a token bucket of <c>requests_per_minute</c> tokens, refilled continuously: a client that was idle
/// may send a burst of N at once, then N a minute, which is what "60 a minute" promises. A sliding window would
/// promise N in any 60 s too, but needs a timestamp per request in the window (or an estimate), where the bucket
/// needs two numbers.
/// <para>
/// Both limits are checked and taken under one short lock, so a refused request takes neither a token nor a
/// slot, and no two requests can both take the last slot. Nothing inside the lock waits on I/O or allocates.
/// The bucket counts in integer units (one token is one minute of timestamp ticks) so that no rounding drifts.
/// </para>
/// </remarks>
public sealed class ClientLimiter
{
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    /// <summary>One token, in bucket units: a minute of <see cref="TimeProvider.GetTimestamp"/> ticks.</summary>
    private readonly long _tokenCost;

    private Settings _settings;
    private int _inFlight;

    /// <summary>Tokens in the bucket × <see cref="_tokenCost"/>; the bucket refills by N units a tick.</summary>
    private long _level;
    private long _refilledAt;

    public ClientLimiter(string clientName, ClientLimits limits, TimeProvider time)
    {
        ClientName = clientName;
        _time = time;
        _tokenCost = checked(60 * time.TimestampFrequency);
        _settings = new Settings(clientName, limits);
        _level = BucketCapacity(limits);
        _refilledAt = time.GetTimestamp();
    }

    public string ClientName { get; }

    public ClientLimits Limits => _settings.Limits;

    /// <summary>Requests acquired and not yet released.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>
    /// Takes a slot and a token, or neither. When both limits are exceeded, the concurrency limit is named.
    /// </summary>
    public bool TryAcquire(out LimitRefusal refusal)
    {
        var settings = Volatile.Read(ref _settings);
        if (settings.Limits.IsUnlimited)
        {
            // Counted even so, so that a reload that sets a limit sees the requests already in flight. (A request
            // that read the settings just before such a reload is let in under the old ones.)
            Interlocked.Increment(ref _inFlight);
            refusal = default;
            return true;
        }

        lock (_lock)
        {
            settings = _settings;
            var limits = settings.Limits;
            if (limits.MaxConcurrent is int max && Volatile.Read(ref _inFlight) >= max)
            {
                refusal = new LimitRefusal(LimitKind.Concurrent, max, 1, settings.ConcurrentBody!);
                return false;
            }

            if (limits.RequestsPerMinute is int rate)
            {
                var now = _time.GetTimestamp();
                Refill(now, rate);
                if (_level < _tokenCost)
                {
                    refusal = new LimitRefusal(LimitKind.RequestsPerMinute, rate, SecondsUntilToken(rate), settings.RateBody!);
                    return false;
                }

                _level -= _tokenCost;
            }

            Interlocked.Increment(ref _inFlight);
        }

        refusal = default;
        return true;
    }

    /// <summary>Gives back the slot of a request that <see cref="TryAcquire"/> let through. A token is never given back.</summary>
    public void Release()
    {
        var inFlight = Interlocked.Decrement(ref _inFlight);
        Debug.Assert(inFlight >= 0, "Release without a successful TryAcquire.");
    }

    /// <summary>
    /// Adopts new limits (a reload of the clients file). Requests in flight stay counted; tokens already in the
    /// bucket are kept up to the new capacity; a rate limit that is new starts with a full bucket.
    /// </summary>
    public void Update(ClientLimits limits)
    {
        lock (_lock)
        {
            var old = _settings.Limits;
            if (old == limits)
            {
                return;
            }

            var now = _time.GetTimestamp();
            if (old.RequestsPerMinute is int oldRate)
            {
                Refill(now, oldRate);
            }

            _level = old.RequestsPerMinute is null ? BucketCapacity(limits) : Math.Min(_level, BucketCapacity(limits));
            _refilledAt = now;
            Volatile.Write(ref _settings, new Settings(ClientName, limits));
        }
    }

    private long BucketCapacity(ClientLimits limits) => checked((limits.RequestsPerMinute ?? 0) * _tokenCost);

    private void Refill(long now, int rate)
    {
        var elapsed = now - _refilledAt;
        if (elapsed <= 0)
        {
            return;
        }

        var capacity = rate * _tokenCost;

        // A whole minute refills any bucket; below that, elapsed × rate < capacity cannot overflow.
        _level = elapsed >= _tokenCost ? capacity : Math.Min(capacity, _level + (elapsed * rate));
        _refilledAt = now;
    }

    private int SecondsUntilToken(int rate)
    {
        var ticks = (_tokenCost - _level + rate - 1) / rate;
        var frequency = _time.TimestampFrequency;
        return (int)Math.Max(1, (ticks + frequency - 1) / frequency);
    }

    /// <summary>The limits and the error bodies made from them, swapped as one on <see cref="Update"/>.</summary>
    private sealed class Settings(string clientName, ClientLimits limits)
    {
        public ClientLimits Limits { get; } = limits;

        public byte[]? ConcurrentBody { get; } = limits.MaxConcurrent is int max
            ? JsonErrorBody.Create(LimitRefusal.Message(clientName, LimitKind.Concurrent, max))
            : null;

        public byte[]? RateBody { get; } = limits.RequestsPerMinute is int rate
            ? JsonErrorBody.Create(LimitRefusal.Message(clientName, LimitKind.RequestsPerMinute, rate))
            : null;
    }
}
