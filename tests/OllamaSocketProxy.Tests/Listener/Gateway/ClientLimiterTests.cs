using System.Buffers;
using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// A client's <c>max_concurrent</c> and <c>requests_per_minute</c>: a token bucket (a burst of N, then N a
/// minute), Retry-After in whole seconds, and a refused request that takes neither a token nor a slot.
/// Time passes only on the <see cref="FakeTimeProvider"/>.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ClientLimiterTests
{
    private static ClientLimiter Limiter(FakeTimeProvider clock, int? maxConcurrent = null, int? requestsPerMinute = null) =>
        new("kids", new ClientLimits(maxConcurrent, requestsPerMinute), clock);

    /// <summary>Acquires and releases at once, as a request that ends before the next begins; returns how many got through.</summary>
    private static int AcquireAndRelease(ClientLimiter limiter, int attempts)
    {
        var allowed = 0;
        for (var i = 0; i < attempts; i++)
        {
            if (limiter.TryAcquire(out _))
            {
                limiter.Release();
                allowed++;
            }
        }

        return allowed;
    }

    [Test]
    public void RatePerMinute_AllowsABurstOfNThenRefuses()
    {
        var limiter = Limiter(new FakeTimeProvider(), requestsPerMinute: 60);

        Assert.That(AcquireAndRelease(limiter, 60), Is.EqualTo(60));
        Assert.That(limiter.TryAcquire(out var refusal), Is.False);
        Assert.That(refusal.Kind, Is.EqualTo(LimitKind.RequestsPerMinute));
        Assert.That(refusal.Limit, Is.EqualTo(60));
    }

    [Test]
    public void RatePerMinute_RefillsContinuouslyOneTokenEachSixtiethOfAMinute()
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock, requestsPerMinute: 60);
        AcquireAndRelease(limiter, 60);

        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.That(limiter.TryAcquire(out _), Is.False, "a token takes one second at 60 a minute");

        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(AcquireAndRelease(limiter, 5), Is.EqualTo(1));

        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.That(AcquireAndRelease(limiter, 20), Is.EqualTo(10));
    }

    [Test]
    public void RatePerMinute_AfterAnIdleMinuteTheBucketIsFullButNoFuller()
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock, requestsPerMinute: 5);
        AcquireAndRelease(limiter, 5);

        clock.Advance(TimeSpan.FromHours(3));

        Assert.That(AcquireAndRelease(limiter, 20), Is.EqualTo(5));
    }

    [TestCase(60, 0, 1)]
    [TestCase(1, 0, 60)]
    [TestCase(1, 500, 60)]
    [TestCase(1, 58_999, 2)]
    [TestCase(1, 59_000, 1)]
    [TestCase(1, 59_999, 1)]
    [TestCase(7, 0, 9)] // 60/7 = 8.57 s
    [TestCase(1_000_000, 0, 1)] // 60 µs, still at least 1
    public void RetryAfter_IsTheTimeToTheNextTokenRoundedUpToWholeSeconds(int perMinute, int elapsedMs, int expected)
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock, requestsPerMinute: perMinute);
        AcquireAndRelease(limiter, perMinute);
        clock.Advance(TimeSpan.FromMilliseconds(elapsedMs));

        Assert.That(limiter.TryAcquire(out var refusal), Is.False);
        Assert.That(refusal.RetryAfterSeconds, Is.EqualTo(expected));
    }

    [Test]
    public void RefusedByRate_TakesNoToken()
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock, requestsPerMinute: 2);
        AcquireAndRelease(limiter, 2);
        Assert.That(AcquireAndRelease(limiter, 50), Is.Zero);

        // One token refills in 30 s at 2 a minute; had the 50 refusals taken anything, none would be back yet.
        clock.Advance(TimeSpan.FromSeconds(30));

        Assert.That(AcquireAndRelease(limiter, 5), Is.EqualTo(1));
    }

    [Test]
    public void RefusedByRate_TakesNoSlot()
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock, maxConcurrent: 1, requestsPerMinute: 1);
        AcquireAndRelease(limiter, 1);

        Assert.That(limiter.TryAcquire(out var refusal), Is.False);
        Assert.That(refusal.Kind, Is.EqualTo(LimitKind.RequestsPerMinute));
        Assert.That(limiter.InFlight, Is.Zero);

        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.That(limiter.TryAcquire(out _), Is.True, "the one slot is still free");
    }

    [Test]
    public void Concurrent_RefusesAtTheLimitWithRetryAfterOneSecond_AndAdmitsAgainAfterARelease()
    {
        var limiter = Limiter(new FakeTimeProvider(), maxConcurrent: 4);
        for (var i = 0; i < 4; i++)
        {
            Assert.That(limiter.TryAcquire(out _), Is.True);
        }

        Assert.That(limiter.TryAcquire(out var refusal), Is.False);
        Assert.That(refusal.Kind, Is.EqualTo(LimitKind.Concurrent));
        Assert.That(refusal.Limit, Is.EqualTo(4));
        Assert.That(refusal.RetryAfterSeconds, Is.EqualTo(1));
        Assert.That(limiter.InFlight, Is.EqualTo(4));

        limiter.Release();

        Assert.That(limiter.TryAcquire(out _), Is.True);
        Assert.That(limiter.TryAcquire(out _), Is.False);
    }

    [Test]
    public void RefusedByConcurrency_TakesNoToken()
    {
        var limiter = Limiter(new FakeTimeProvider(), maxConcurrent: 1, requestsPerMinute: 2);
        Assert.That(limiter.TryAcquire(out _), Is.True);
        for (var i = 0; i < 10; i++)
        {
            Assert.That(limiter.TryAcquire(out var refusal), Is.False);
            Assert.That(refusal.Kind, Is.EqualTo(LimitKind.Concurrent));
        }

        limiter.Release();

        Assert.That(limiter.TryAcquire(out _), Is.True, "the second of two tokens");
        limiter.Release();
        Assert.That(limiter.TryAcquire(out var last), Is.False);
        Assert.That(last.Kind, Is.EqualTo(LimitKind.RequestsPerMinute));
    }

    [Test]
    public void BothLimitsExceeded_NamesTheConcurrencyLimit()
    {
        var limiter = Limiter(new FakeTimeProvider(), maxConcurrent: 1, requestsPerMinute: 1);
        Assert.That(limiter.TryAcquire(out _), Is.True);

        Assert.That(limiter.TryAcquire(out var refusal), Is.False);

        Assert.That(refusal.Kind, Is.EqualTo(LimitKind.Concurrent));
    }

    [Test]
    public void NoLimits_AlwaysAdmits_AndStillCountsRequestsInFlight()
    {
        var limiter = Limiter(new FakeTimeProvider());

        for (var i = 0; i < 1000; i++)
        {
            Assert.That(limiter.TryAcquire(out _), Is.True);
        }

        Assert.That(limiter.InFlight, Is.EqualTo(1000));
    }

    [Test]
    public void ErrorBodies_NameTheClientAndTheLimit()
    {
        var limiter = Limiter(new FakeTimeProvider(), maxConcurrent: 1, requestsPerMinute: 60);
        limiter.TryAcquire(out _);
        limiter.TryAcquire(out var concurrent);
        limiter.Release();
        AcquireAndRelease(limiter, 59);
        limiter.TryAcquire(out var rate);

        Assert.That(Latin1.Text(concurrent.ErrorBody), Is.EqualTo("{\"error\":\"client \\\"kids\\\" is over its limit of 1 concurrent requests\"}"));
        Assert.That(Latin1.Text(rate.ErrorBody), Is.EqualTo("{\"error\":\"client \\\"kids\\\" is over its limit of 60 requests per minute\"}"));
    }

    [Test]
    public void RetryAfterField_IsWrittenAsAHeaderLine()
    {
        var limiter = Limiter(new FakeTimeProvider(), requestsPerMinute: 1);
        AcquireAndRelease(limiter, 1);
        limiter.TryAcquire(out var refusal);
        var output = new ArrayBufferWriter<byte>();

        refusal.WriteRetryAfterField(output);

        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo("Retry-After: 60\r\n"));
    }

    [Test]
    public void AcquireReleaseAndRefusals_AllocateNothing()
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock, maxConcurrent: 2, requestsPerMinute: 1_000);
        limiter.TryAcquire(out _);
        limiter.Release();
        var admitted = 0;
        var refused = new int[3];

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            // Two admitted and one refused for concurrency until the tokens run out, then refused for the rate.
            var first = limiter.TryAcquire(out var refusal);
            refused[(int)refusal.Kind]++;
            var second = limiter.TryAcquire(out refusal);
            refused[(int)refusal.Kind]++;
            limiter.TryAcquire(out refusal);
            refused[(int)refusal.Kind]++;
            admitted += (first ? 1 : 0) + (second ? 1 : 0);
            if (first)
            {
                limiter.Release();
            }

            if (second)
            {
                limiter.Release();
            }
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(allocated, Is.Zero);
        Assert.That(admitted, Is.EqualTo(999));
        Assert.That(refused[(int)LimitKind.Concurrent], Is.GreaterThan(0));
        Assert.That(refused[(int)LimitKind.RequestsPerMinute], Is.GreaterThan(0));
    }

    [Test]
    public void UpdatedLimits_KeepRequestsInFlight()
    {
        var limiter = Limiter(new FakeTimeProvider(), maxConcurrent: 4);
        limiter.TryAcquire(out _);
        limiter.TryAcquire(out _);
        limiter.TryAcquire(out _);

        limiter.Update(new ClientLimits(2, null));

        Assert.That(limiter.TryAcquire(out var refusal), Is.False);
        Assert.That(refusal.Limit, Is.EqualTo(2));
        Assert.That(refusal.ErrorBody.ToArray(), Is.EqualTo("{\"error\":\"client \\\"kids\\\" is over its limit of 2 concurrent requests\"}"u8.ToArray()));
        limiter.Release();
        limiter.Release();
        Assert.That(limiter.TryAcquire(out _), Is.True);
    }

    [Test]
    public void UpdatedLimits_LeasesTakenWhileUnlimitedAreReleasedAgainstTheNewLimit()
    {
        var limiter = Limiter(new FakeTimeProvider());
        limiter.TryAcquire(out _);
        limiter.TryAcquire(out _);

        limiter.Update(new ClientLimits(2, null));
        Assert.That(limiter.TryAcquire(out _), Is.False);
        limiter.Release();

        Assert.That(limiter.TryAcquire(out _), Is.True);
        Assert.That(limiter.TryAcquire(out _), Is.False);
    }

    [Test]
    public void UpdatedRate_KeepsTheTokensLeftAndRefillsAtTheNewRate()
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock, requestsPerMinute: 60);
        AcquireAndRelease(limiter, 60);

        limiter.Update(new ClientLimits(null, 120));

        Assert.That(limiter.TryAcquire(out _), Is.False, "an empty bucket stays empty");
        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.That(AcquireAndRelease(limiter, 5), Is.EqualTo(1));
    }

    [Test]
    public void UpdatedRate_LowerCapacityCutsTheTokensLeft()
    {
        var limiter = Limiter(new FakeTimeProvider(), requestsPerMinute: 60);

        limiter.Update(new ClientLimits(null, 10));

        Assert.That(AcquireAndRelease(limiter, 60), Is.EqualTo(10));
    }

    [Test]
    public void NewRate_StartsWithAFullBucket_AndARemovedRateAdmitsEverything()
    {
        var limiter = Limiter(new FakeTimeProvider());

        limiter.Update(new ClientLimits(null, 3));
        Assert.That(AcquireAndRelease(limiter, 10), Is.EqualTo(3));

        limiter.Update(ClientLimits.None);
        Assert.That(AcquireAndRelease(limiter, 10), Is.EqualTo(10));
    }

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(ClientLimits.MaxValue + 1)]
    public void LimitOutOfRange_IsRefusedWhenTheLimitsAreMade(int value)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ClientLimits(value, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ClientLimits(null, value));
    }

    [Test]
    public void ManyThreads_NeverHoldMoreThanMaxConcurrentLeases()
    {
        const int Max = 4;
        const int Threads = 8;
        const int Iterations = 20_000;
        var limiter = new ClientLimiter("kids", new ClientLimits(Max, null), TimeProvider.System);
        var held = 0;
        var mostHeld = 0;
        var admitted = 0;
        var otherRefusals = 0;
        using var start = new Barrier(Threads);

        var threads = Enumerable.Range(0, Threads).Select(_ => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < Iterations; i++)
            {
                if (!limiter.TryAcquire(out var refusal))
                {
                    if (refusal.Kind != LimitKind.Concurrent)
                    {
                        Interlocked.Increment(ref otherRefusals);
                    }

                    continue;
                }

                var now = Interlocked.Increment(ref held);
                InterlockedMax(ref mostHeld, now);
                Interlocked.Increment(ref admitted);
                Thread.SpinWait(20);
                Interlocked.Decrement(ref held);
                limiter.Release();
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            Assert.That(thread.Join(TimeSpan.FromMinutes(1)), Is.True);
        }

        Assert.That(mostHeld, Is.InRange(1, Max));
        Assert.That(admitted, Is.GreaterThan(0));
        Assert.That(otherRefusals, Is.Zero);
        Assert.That(limiter.InFlight, Is.Zero);
    }

    private static void InterlockedMax(ref int location, int value)
    {
        var current = Volatile.Read(ref location);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
