using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>Many threads choosing, benching and returning keys at once: the pool's invariants hold.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class UpstreamKeyPoolConcurrencyTests
{
    private const int Threads = 8;

    [Test]
    public void ManyThreads_AllKeysUp_EachKeyGetsAnEqualShare()
    {
        const int choicesPerThread = 5_000;
        var f = new KeyPoolFixture(4);
        var counts = new int[4];

        RunOnThreads(_ =>
        {
            for (var i = 0; i < choicesPerThread; i++)
            {
                var key = f.Choose();
                Interlocked.Increment(ref counts[key.Position - 1]);
            }
        });

        Assert.That(counts, Is.All.EqualTo(Threads * choicesPerThread / 4));
    }

    [Test]
    public void ManyThreads_ChoosingBenchingAndReturning_InvariantsHold()
    {
        var f = new KeyPoolFixture(4);
        var disabled = f.Keys[3];
        f.Pool.Disable(disabled, 401);
        var rateLimited = new long[4];
        var violations = new System.Collections.Concurrent.ConcurrentQueue<string>();

        RunOnThreads(thread =>
        {
            var random = new Random(thread);
            for (var i = 0; i < 20_000; i++)
            {
                if (!f.Pool.TryChoose(out var key, out var unavailable, except: random.Next(4) == 0 ? f.Keys[random.Next(3)] : null))
                {
                    if (unavailable.Reason != NoKeyReason.AllRateLimited || unavailable.RetryAfterSeconds < 1)
                    {
                        violations.Enqueue($"no key: {unavailable.Reason}, retry after {unavailable.RetryAfterSeconds} s");
                    }

                    f.Clock.Advance(TimeSpan.FromMinutes(random.Next(1, 30)));
                    continue;
                }

                if (key == disabled)
                {
                    violations.Enqueue("chose the disabled key");
                }

                switch (random.Next(200))
                {
                    case < 2:
                        var kind = (RateLimitKind)random.Next(3);
                        var retryAfter = random.Next(4) == 0 ? random.Next(0, 600).ToString(System.Globalization.CultureInfo.InvariantCulture) : "";
                        Interlocked.Increment(ref rateLimited[key.Position - 1]);
                        f.RateLimited(key, KeyPoolFixture.LimitBody(kind), retryAfter);
                        break;
                    case < 3:
                        f.Clock.Advance(TimeSpan.FromMinutes(random.Next(0, 20)));
                        break;
                    default:
                        f.Pool.OnResponse(key, 200, default, default);
                        break;
                }
            }
        });

        Assert.That(violations, Is.Empty);
        Assert.That(f.Pool.Snapshot().Select(s => s.RateLimitedCount), Is.EqualTo(rateLimited));

        // Once every bench is over, the three keys are chosen in turn again and each bench has had its one return.
        f.Clock.Advance(BenchLadder.MaxBench + TimeSpan.FromDays(1));
        Assert.That(Enumerable.Range(0, 3).Select(_ => f.Choose().Position).Order(), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(f.Pool.Snapshot().Select(s => s.State), Is.EqualTo(new[] { KeyState.Up, KeyState.Up, KeyState.Up, KeyState.Disabled }));
        foreach (var key in f.Keys.Take(3))
        {
            var benches = f.LinesContaining($"Upstream {key.Label} rate limited (");
            Assert.That(benches, Is.Positive, $"{key} was never benched: the test did not exercise it");
            Assert.That(f.LinesContaining($"Upstream {key.Label} back in service"), Is.EqualTo(benches), key.Label);
        }

        Assert.That(f.Logs.Lines.Count(line => line.Contains(disabled.Label, StringComparison.Ordinal)), Is.EqualTo(1));
    }

    /// <summary>Runs <paramref name="work"/> on <see cref="Threads"/> threads released together; rethrows the first failure.</summary>
    private static void RunOnThreads(Action<int> work)
    {
        using var start = new Barrier(Threads);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, Threads).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                work(i);
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToArray();

        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            Assert.That(thread.Join(TimeSpan.FromMinutes(1)), Is.True, "a thread did not finish");
        }

        if (failures.TryPeek(out var failure))
        {
            throw failure;
        }
    }
}
