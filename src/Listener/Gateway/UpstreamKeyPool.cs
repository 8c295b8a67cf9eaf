using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// The upstream keys, and which of them may serve the next request. Requests are spread over the keys that are up,
/// in turn; an upstream 429 benches its key (until the reset the answer names, else by <see cref="BenchLadder"/>),
/// a 401 or 403 disables it until restart. Each state change is logged once.
/// </summary>
/// <remarks>
/// Thread-safe. Choosing reads one immutable view of the keys that are up, and costs one <see cref="Interlocked"/>
/// increment (none with a single key up) and no allocation; the clock is read only while some key is benched. State
/// changes are rare (an upstream 429, 401 or 403, a bench that ends): they take one lock, which guards a few fields
/// and is never held across I/O or logging, and publish a new view.
/// </remarks>
public sealed class UpstreamKeyPool
{
    private readonly UpstreamKey[] _keys;
    private readonly KeySlot[] _slots;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private volatile Availability _view;
    private int _cursor = -1;

    public UpstreamKeyPool(IReadOnlyList<UpstreamKey> keys, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfZero(keys.Count);
        _keys = [.. keys];
        _slots = new KeySlot[_keys.Length];
        for (var i = 0; i < _keys.Length; i++)
        {
            // SlotOf finds a key by its position: the keys come as ParseList numbers them.
            if (_keys[i].Position != i + 1)
            {
                throw new ArgumentException($"key at index {i} has position {_keys[i].Position}", nameof(keys));
            }

            _slots[i] = new KeySlot(_keys[i]);
        }

        _time = timeProvider;
        _logger = logger;
        _view = new Availability(_keys, long.MaxValue);
    }

    public IReadOnlyList<UpstreamKey> Keys => _keys;

    /// <summary>
    /// The next of the keys that are up, in turn; a benched key whose time is up is up again. <paramref name="except"/>
    /// is passed over (a retry after a 429 goes to another key). False when no key is left: <paramref name="unavailable"/>
    /// then says why, and when the first benched key returns.
    /// </summary>
    public bool TryChoose([NotNullWhen(true)] out UpstreamKey? key, out NoKeyAvailable unavailable, UpstreamKey? except = null)
    {
        var view = _view;
        var now = 0L;
        if (view.NextReturnTicks != long.MaxValue)
        {
            now = _time.GetUtcNow().UtcTicks;
            if (now >= view.NextReturnTicks)
            {
                view = EndBenches(now);
            }
        }

        // The turn is taken among the keys that are up, less the one passed over, so each gets an equal share.
        var up = view.Up;
        var passedOver = except is null ? -1 : Array.IndexOf(up, except);
        var candidates = passedOver < 0 ? up.Length : up.Length - 1;
        if (candidates > 0)
        {
            var turn = candidates == 1 ? 0 : (int)((uint)Interlocked.Increment(ref _cursor) % (uint)candidates);
            key = up[passedOver < 0 || turn < passedOver ? turn : turn + 1];
            unavailable = default;
            return true;
        }

        key = null;
        unavailable = Unavailable(view, now == 0 ? _time.GetUtcNow().UtcTicks : now);
        return false;
    }

    /// <summary>
    /// Records what the upstream answered <paramref name="key"/>: 429 benches it (<paramref name="retryAfter"/> is the
    /// <c>Retry-After</c> value, see <see cref="RetryAfter.Find"/>; <paramref name="body"/> the start of the de-chunked
    /// body, see <see cref="RateLimitBody"/>), 401 and 403 disable it, anything else resets its back-off.
    /// </summary>
    public KeyOutcome OnResponse(UpstreamKey key, int status, ReadOnlySpan<byte> retryAfter, in ReadOnlySequence<byte> body)
    {
        switch (status)
        {
            case 429:
                var now = _time.GetUtcNow();
                var named = RateLimitBody.Parse(body, now);
                if (RetryAfter.TryParse(retryAfter, now, out var until))
                {
                    Bench(SlotOf(key), named.Kind, until, "Retry-After", now);
                }
                else
                {
                    Bench(SlotOf(key), named.Kind, named.ResetAt, named.ResetAt is null ? null : "reset named in the answer", now);
                }

                return KeyOutcome.RateLimited;
            case 403 when ForbidsTheRequest(body):
                // "this model requires a subscription": an answer about this request, not about the key.
                OnServed(key);
                return KeyOutcome.Served;
            case 401 or 403:
                Disable(key, status);
                return KeyOutcome.Refused;
            default:
                OnServed(key);
                return KeyOutcome.Served;
        }
    }

    /// <summary>
    /// Whether a 403's body speaks of the request rather than the key: Ollama Cloud refuses a model the account's plan
    /// does not include with 403 ("this model requires a subscription"), and disabling the key for that would stop
    /// every other request it serves.
    /// </summary>
    internal static bool ForbidsTheRequest(in ReadOnlySequence<byte> body)
    {
        Span<byte> start = stackalloc byte[(int)Math.Min(body.Length, 1024)];
        body.Slice(0, start.Length).CopyTo(start);
        return start.IndexOf("subscription"u8) >= 0 || start.IndexOf("model"u8) >= 0;
    }

    /// <summary>The key drew an answer other than 429, 401 or 403: its next 429 starts the back-off ladder over.</summary>
    public void OnServed(UpstreamKey key)
    {
        var slot = SlotOf(key);
        if (Volatile.Read(ref slot.Step) != 0)
        {
            lock (_gate)
            {
                slot.Step = 0;
            }
        }
    }

    /// <summary>
    /// Benches <paramref name="key"/> for a 429 naming <paramref name="kind"/>: until <paramref name="until"/> when the
    /// answer named a reset, else for the next step of its back-off ladder. Bounded by
    /// <see cref="BenchLadder.MinBench"/> and <see cref="BenchLadder.MaxBench"/>.
    /// </summary>
    public void Bench(UpstreamKey key, RateLimitKind kind, DateTimeOffset? until = null) =>
        Bench(SlotOf(key), kind, until, until is null ? null : "reset named in the answer", _time.GetUtcNow());

    /// <summary>Takes <paramref name="key"/> out of service until restart: the upstream refused it with <paramref name="status"/>.</summary>
    public void Disable(UpstreamKey key, int status)
    {
        var slot = SlotOf(key);
        bool disabled;
        lock (_gate)
        {
            disabled = slot.State != KeyState.Disabled;
            slot.State = KeyState.Disabled;
            Publish();
        }

        if (disabled)
        {
            KeyPoolLog.Disabled(_logger, key.Label, status);
        }
    }

    /// <summary>Every key's state, for metrics and readiness. Reading it changes nothing and logs nothing.</summary>
    public KeyStatus[] Snapshot()
    {
        var now = _time.GetUtcNow().UtcTicks;
        var statuses = new KeyStatus[_slots.Length];
        lock (_gate)
        {
            for (var i = 0; i < _slots.Length; i++)
            {
                var slot = _slots[i];
                var benched = slot.State == KeyState.Benched && slot.BenchedUntilTicks > now;
                var state = slot.State == KeyState.Benched && !benched ? KeyState.Up : slot.State;
                statuses[i] = new KeyStatus(
                    slot.Key.Label, state, benched ? new DateTimeOffset(slot.BenchedUntilTicks, TimeSpan.Zero) : null, slot.RateLimitedCount);
            }
        }

        return statuses;
    }

    private void Bench(KeySlot slot, RateLimitKind kind, DateTimeOffset? named, string? source, DateTimeOffset now)
    {
        TimeSpan duration;
        int step;
        bool returned, extended;
        lock (_gate)
        {
            slot.RateLimitedCount++;
            if (slot.State == KeyState.Disabled)
            {
                return;
            }

            var benched = slot.State == KeyState.Benched && slot.BenchedUntilTicks > now.UtcTicks;

            // A bench that is over but that no choice has ended yet: its return is logged, so that each bench has one.
            returned = slot.State == KeyState.Benched && !benched;
            if (benched && kind <= slot.StepKind)
            {
                // The 429 of a request sent before the bench began: no new step and no log line, so that requests in
                // flight do not climb the ladder. Only a later reset, named by the answer, moves the return.
                if (named is { } later)
                {
                    slot.BenchedUntilTicks = Math.Max(slot.BenchedUntilTicks, (now + Clamp(later - now)).UtcTicks);
                    Publish();
                }

                return;
            }

            if (kind != slot.StepKind)
            {
                slot.Step = 0;
                slot.StepKind = kind;
            }

            step = slot.Step;
            duration = Clamp(named is { } reset ? reset - now : BenchLadder.For(kind, step));
            extended = benched;
            if (benched)
            {
                // A longer limit named while benched for a shorter one: the bench never gets shorter.
                duration = TimeSpan.FromTicks(Math.Max(duration.Ticks, slot.BenchedUntilTicks - now.UtcTicks));
            }

            slot.Step = Math.Min(step + 1, 1000);
            slot.BenchedUntilTicks = (now + duration).UtcTicks;
            slot.State = KeyState.Benched;
            Publish();
        }

        if (returned)
        {
            KeyPoolLog.Returned(_logger, slot.Key.Label);
        }

        var limit = kind switch
        {
            RateLimitKind.Session => "session",
            RateLimitKind.Weekly => "weekly",
            _ => "unnamed",
        };
        source ??= $"back-off step {step + 1}";
        if (extended)
        {
            KeyPoolLog.BenchExtended(_logger, slot.Key.Label, limit, duration, now + duration, source);
        }
        else
        {
            KeyPoolLog.Benched(_logger, slot.Key.Label, limit, duration, now + duration, source);
        }
    }

    private static TimeSpan Clamp(TimeSpan duration) =>
        duration < BenchLadder.MinBench ? BenchLadder.MinBench : duration > BenchLadder.MaxBench ? BenchLadder.MaxBench : duration;

    /// <summary>Puts the keys whose bench is over back in service; the thread that does so logs each return.</summary>
    private Availability EndBenches(long now)
    {
        List<UpstreamKey>? returned = null;
        Availability view;
        lock (_gate)
        {
            foreach (var slot in _slots)
            {
                if (slot.State == KeyState.Benched && slot.BenchedUntilTicks <= now)
                {
                    slot.State = KeyState.Up;
                    (returned ??= []).Add(slot.Key);
                }
            }

            view = returned is null ? _view : Publish();
        }

        foreach (var key in returned ?? [])
        {
            KeyPoolLog.Returned(_logger, key.Label);
        }

        return view;
    }

    /// <summary>Rebuilds the view <see cref="TryChoose"/> reads; called under <see cref="_gate"/> after every state change.</summary>
    private Availability Publish()
    {
        var up = new List<UpstreamKey>(_slots.Length);
        var nextReturn = long.MaxValue;
        foreach (var slot in _slots)
        {
            if (slot.State == KeyState.Up)
            {
                up.Add(slot.Key);
            }
            else if (slot.State == KeyState.Benched)
            {
                nextReturn = Math.Min(nextReturn, slot.BenchedUntilTicks);
            }
        }

        return _view = new Availability([.. up], nextReturn);
    }

    private static NoKeyAvailable Unavailable(Availability view, long now)
    {
        if (view.Up.Length == 0 && view.NextReturnTicks == long.MaxValue)
        {
            return new NoKeyAvailable(NoKeyReason.AllDisabled, default, 0);
        }

        // A key is up only when it was passed over: it could serve at once.
        var next = view.Up.Length > 0 ? now : Math.Max(view.NextReturnTicks, now);
        var seconds = (int)Math.Max((next - now + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond, 1);
        return new NoKeyAvailable(NoKeyReason.AllRateLimited, new DateTimeOffset(next, TimeSpan.Zero), seconds);
    }

    private KeySlot SlotOf(UpstreamKey key)
    {
        var index = key.Position - 1;
        return (uint)index < (uint)_slots.Length && ReferenceEquals(_slots[index].Key, key)
            ? _slots[index]
            : throw new ArgumentException($"{key.Label} is not a key of this pool", nameof(key));
    }

    /// <summary>The keys that are up, in order, and when the first benched key returns (<see cref="long.MaxValue"/>: none is benched).</summary>
    private sealed class Availability(UpstreamKey[] up, long nextReturnTicks)
    {
        public readonly UpstreamKey[] Up = up;
        public readonly long NextReturnTicks = nextReturnTicks;
    }

    /// <summary>A key's state; written under the pool's lock. <see cref="Step"/> is read without it to skip the lock.</summary>
    private sealed class KeySlot(UpstreamKey key)
    {
        public readonly UpstreamKey Key = key;
        public KeyState State;
        public long BenchedUntilTicks;
        public int Step;
        public RateLimitKind StepKind;
        public long RateLimitedCount;
    }
}
