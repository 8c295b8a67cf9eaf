using System.Buffers;
using Microsoft.Extensions.Logging.Abstractions;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>Spreading requests over keys, benching on 429, disabling on 401/403, and the answer when no key is left.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class UpstreamKeyPoolTests
{
    [Test]
    public void KeysUp_ChosenInTurn()
    {
        var f = new KeyPoolFixture(3);

        var chosen = Enumerable.Range(0, 9).Select(_ => f.Choose().Position).ToArray();

        Assert.That(chosen, Is.EqualTo(new[] { 1, 2, 3, 1, 2, 3, 1, 2, 3 }));
    }

    [Test]
    public void SingleKey_AlwaysChosen()
    {
        var f = new KeyPoolFixture(1);

        Assert.That(Enumerable.Range(0, 5).Select(_ => f.Choose()), Is.All.SameAs(f.Keys[0]));
    }

    [Test]
    public void RateLimited_KeySkippedByTheNextChoices()
    {
        var f = new KeyPoolFixture(3);

        Assert.That(f.RateLimited(f.Keys[1], KeyPoolFixture.SessionLimit), Is.EqualTo(KeyOutcome.RateLimited));

        var chosen = Enumerable.Range(0, 8).Select(_ => f.Choose().Position).ToArray();
        Assert.That(chosen, Has.None.EqualTo(2));
        Assert.That(chosen.Count(p => p == 1), Is.EqualTo(4));
        Assert.That(f.Status(f.Keys[1]).State, Is.EqualTo(KeyState.Benched));
    }

    [TestCase(RateLimitKind.Session, new[] { 15, 30, 60, 120, 120, 120 })]
    [TestCase(RateLimitKind.Weekly, new[] { 360, 720, 1440, 1440 })]
    [TestCase(RateLimitKind.Other, new[] { 1, 2, 5, 15, 15 })]
    public void RepeatedLimit_BenchClimbsItsLadder(RateLimitKind kind, int[] minutes)
    {
        var f = new KeyPoolFixture(2);
        var key = f.Keys[0];

        for (var step = 0; step < minutes.Length; step++)
        {
            f.RateLimited(key, KeyPoolFixture.LimitBody(kind));
            Assert.That(f.BenchLeft(key), Is.EqualTo(TimeSpan.FromMinutes(minutes[step])), $"step {step + 1}");
            Assert.That(BenchLadder.For(kind, step), Is.EqualTo(TimeSpan.FromMinutes(minutes[step])));

            f.Clock.Advance(f.BenchLeft(key));
        }
    }

    [Test]
    public void AnswerOtherThan429_StartsTheLadderOver()
    {
        var f = new KeyPoolFixture(2);
        var key = f.Keys[0];
        f.RateLimited(key, KeyPoolFixture.SessionLimit);
        f.Clock.Advance(TimeSpan.FromMinutes(15));
        f.RateLimited(key, KeyPoolFixture.SessionLimit);
        Assert.That(f.BenchLeft(key), Is.EqualTo(TimeSpan.FromMinutes(30)));
        f.Clock.Advance(TimeSpan.FromMinutes(30));

        Assert.That(f.Pool.OnResponse(key, 200, default, default), Is.EqualTo(KeyOutcome.Served));
        f.RateLimited(key, KeyPoolFixture.SessionLimit);

        Assert.That(f.BenchLeft(key), Is.EqualTo(TimeSpan.FromMinutes(15)));
    }

    [Test]
    public void OtherKind_StartsAtTheFirstStepOfItsLadder()
    {
        var f = new KeyPoolFixture(2);
        var key = f.Keys[0];
        f.RateLimited(key, KeyPoolFixture.UnnamedLimit);
        f.Clock.Advance(TimeSpan.FromMinutes(1));
        f.RateLimited(key, KeyPoolFixture.UnnamedLimit);
        f.Clock.Advance(TimeSpan.FromMinutes(2));

        f.RateLimited(key, KeyPoolFixture.SessionLimit);

        Assert.That(f.BenchLeft(key), Is.EqualTo(TimeSpan.FromMinutes(15)));
    }

    [Test]
    public void RetryAfterSeconds_Honoured()
    {
        var f = new KeyPoolFixture(2);

        f.RateLimited(f.Keys[0], KeyPoolFixture.SessionLimit, retryAfter: "90");

        Assert.That(f.BenchLeft(f.Keys[0]), Is.EqualTo(TimeSpan.FromSeconds(90)));
        Assert.That(f.LinesContaining("(Retry-After)"), Is.EqualTo(1));
    }

    [Test]
    public void RetryAfterDate_Honoured()
    {
        var f = new KeyPoolFixture(2);

        f.RateLimited(f.Keys[0], KeyPoolFixture.WeeklyLimit, retryAfter: "Sun, 15 Mar 2026 14:30:00 GMT");

        Assert.That(f.Status(f.Keys[0]).BenchedUntil, Is.EqualTo(KeyPoolFixture.Start.AddHours(2.5)));
    }

    [Test]
    public void ResetTimeInTheBody_Honoured()
    {
        var f = new KeyPoolFixture(2);

        f.RateLimited(f.Keys[0], KeyPoolFixture.Body("""{"error":"you have reached your session usage limit, resets at 2026-03-15T16:00:00Z"}"""));

        Assert.That(f.Status(f.Keys[0]).BenchedUntil, Is.EqualTo(KeyPoolFixture.Start.AddHours(4)));
        Assert.That(f.LinesContaining("(reset named in the answer)"), Is.EqualTo(1));
    }

    [Test]
    public void RetryAfter_WinsOverAResetInTheBody()
    {
        var f = new KeyPoolFixture(2);

        f.RateLimited(f.Keys[0], KeyPoolFixture.Body("""{"error":"session usage limit, resets in 4 hours"}"""), retryAfter: "60");

        Assert.That(f.BenchLeft(f.Keys[0]), Is.EqualTo(TimeSpan.FromSeconds(60)));
    }

    [TestCase("0")]
    [TestCase("Sun, 15 Mar 2026 11:00:00 GMT")]
    public void RetryAfterNowOrPast_BenchedForTheShortestBench(string retryAfter)
    {
        var f = new KeyPoolFixture(2);

        f.RateLimited(f.Keys[0], KeyPoolFixture.SessionLimit, retryAfter);

        Assert.That(f.BenchLeft(f.Keys[0]), Is.EqualTo(BenchLadder.MinBench));
        Assert.That(f.Choose(), Is.SameAs(f.Keys[1]), "the retry goes to the other key");
    }

    [Test]
    public void NamedResetBeyondTheLongestBench_Capped()
    {
        var f = new KeyPoolFixture(2);

        f.RateLimited(f.Keys[0], KeyPoolFixture.WeeklyLimit, retryAfter: "99999999");

        Assert.That(f.BenchLeft(f.Keys[0]), Is.EqualTo(BenchLadder.MaxBench));
    }

    [Test]
    public void MalformedRetryAfter_LadderUsed()
    {
        var f = new KeyPoolFixture(2);

        f.RateLimited(f.Keys[0], KeyPoolFixture.SessionLimit, retryAfter: "soon");

        Assert.That(f.BenchLeft(f.Keys[0]), Is.EqualTo(TimeSpan.FromMinutes(15)));
        Assert.That(f.LinesContaining("(back-off step 1)"), Is.EqualTo(1));
    }

    [Test]
    public void BenchOver_KeyChosenAgain_ReturnLoggedOnce()
    {
        var f = new KeyPoolFixture(2);
        var key = f.Keys[0];
        f.RateLimited(key, KeyPoolFixture.SessionLimit);

        f.Clock.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromTicks(1));
        Assert.That(Enumerable.Range(0, 4).Select(_ => f.Choose()), Has.None.SameAs(key), "a tick before its time");
        Assert.That(f.LinesContaining("back in service"), Is.Zero);

        f.Clock.Advance(TimeSpan.FromTicks(1));
        var chosen = Enumerable.Range(0, 6).Select(_ => f.Choose()).ToArray();

        Assert.That(chosen.Count(k => k == key), Is.EqualTo(3));
        Assert.That(f.LinesContaining("Upstream key#1 (…0001) back in service after its bench"), Is.EqualTo(1));
        Assert.That(f.Status(key), Is.EqualTo(new KeyStatus("key#1 (…0001)", KeyState.Up, null, 1)));
    }

    [Test]
    public void BenchOverBeforeAnyChoice_Next429LogsTheReturnThenTheNewBench()
    {
        var f = new KeyPoolFixture(1);
        f.RateLimited(f.Keys[0], KeyPoolFixture.UnnamedLimit);
        f.Clock.Advance(TimeSpan.FromMinutes(1));

        f.RateLimited(f.Keys[0], KeyPoolFixture.UnnamedLimit);

        Assert.That(f.Logs.Lines, Has.Count.EqualTo(3));
        Assert.That(f.Logs.Lines[1], Does.EndWith("Upstream key#1 (…0001) back in service after its bench"));
        Assert.That(f.Logs.Lines[2], Does.Contain("benched for 00:02:00"));
    }

    [TestCase(401)]
    [TestCase(403)]
    public void Refused_KeyDisabledUntilRestart_LoggedOnce(int status)
    {
        var f = new KeyPoolFixture(2);
        var key = f.Keys[1];

        Assert.That(f.Pool.OnResponse(key, status, default, default), Is.EqualTo(KeyOutcome.Refused));
        f.Pool.OnResponse(key, status, default, default);
        f.Pool.Disable(key, status);
        f.Clock.Advance(TimeSpan.FromDays(365));

        Assert.That(Enumerable.Range(0, 6).Select(_ => f.Choose()), Is.All.SameAs(f.Keys[0]));
        Assert.That(f.Status(key).State, Is.EqualTo(KeyState.Disabled));
        Assert.That(f.LinesContaining($"Upstream key#2 (…0002) disabled until restart: the upstream answered {status}"), Is.EqualTo(1));
    }

    [Test]
    public void DisabledKey_A429LaterLeavesItDisabled()
    {
        var f = new KeyPoolFixture(2);
        f.Pool.Disable(f.Keys[0], 401);

        f.RateLimited(f.Keys[0], KeyPoolFixture.SessionLimit);

        Assert.That(f.Status(f.Keys[0]).State, Is.EqualTo(KeyState.Disabled));
        Assert.That(f.LinesContaining("rate limited"), Is.Zero);
    }

    [Test]
    public void AllBenched_NextReturnOfTheFirstKey_InWholeSecondsRoundedUp()
    {
        var f = new KeyPoolFixture(3);
        f.RateLimited(f.Keys[0], KeyPoolFixture.SessionLimit);
        f.Pool.Bench(f.Keys[1], RateLimitKind.Other, KeyPoolFixture.Start.AddSeconds(90.2));
        f.RateLimited(f.Keys[2], KeyPoolFixture.WeeklyLimit);

        var unavailable = f.ChooseNone();

        Assert.That(unavailable.Reason, Is.EqualTo(NoKeyReason.AllRateLimited));
        Assert.That(unavailable.NextReturn, Is.EqualTo(KeyPoolFixture.Start.AddSeconds(90.2)));
        Assert.That(unavailable.RetryAfterSeconds, Is.EqualTo(91));
        var body = new ArrayBufferWriter<byte>();
        unavailable.WriteErrorBody(body);
        Assert.That(System.Text.Encoding.ASCII.GetString(body.WrittenSpan), Is.EqualTo("""{"error":"all upstream keys are rate limited; next in 91 s"}"""));
    }

    [Test]
    public void AllBenched_LessThanASecondLeft_RetryAfterOne()
    {
        var f = new KeyPoolFixture(1);
        f.RateLimited(f.Keys[0], KeyPoolFixture.UnnamedLimit);
        f.Clock.Advance(TimeSpan.FromMinutes(1) - TimeSpan.FromMilliseconds(1));

        Assert.That(f.ChooseNone().RetryAfterSeconds, Is.EqualTo(1));
    }

    [Test]
    public void SomeDisabledRestBenched_RateLimitedUntilABenchedKeyReturns()
    {
        var f = new KeyPoolFixture(2);
        f.Pool.Disable(f.Keys[0], 401);
        f.RateLimited(f.Keys[1], KeyPoolFixture.SessionLimit);

        var unavailable = f.ChooseNone();

        Assert.That(unavailable.Reason, Is.EqualTo(NoKeyReason.AllRateLimited));
        Assert.That(unavailable.RetryAfterSeconds, Is.EqualTo(15 * 60));
    }

    [Test]
    public void AllDisabled_DistinctResult()
    {
        var f = new KeyPoolFixture(2);
        f.Pool.Disable(f.Keys[0], 401);
        f.Pool.Disable(f.Keys[1], 403);

        var unavailable = f.ChooseNone();

        Assert.That(unavailable.Reason, Is.EqualTo(NoKeyReason.AllDisabled));
        Assert.That(unavailable.Status, Is.EqualTo(502));
    }

    [Test]
    public void Except_RetryGoesToAnotherKey()
    {
        var f = new KeyPoolFixture(3);

        var chosen = Enumerable.Range(0, 6).Select(_ => f.Choose(except: f.Keys[0])).ToArray();

        Assert.That(chosen, Has.None.SameAs(f.Keys[0]));
        Assert.That(chosen.Count(k => k == f.Keys[1]), Is.EqualTo(3));
    }

    [Test]
    public void Except_TheOnlyKeyUp_NoKey_NextInOneSecond()
    {
        var f = new KeyPoolFixture(2);
        f.RateLimited(f.Keys[1], KeyPoolFixture.SessionLimit);

        var unavailable = f.ChooseNone(except: f.Keys[0]);

        Assert.That(unavailable.Reason, Is.EqualTo(NoKeyReason.AllRateLimited));
        Assert.That(unavailable.RetryAfterSeconds, Is.EqualTo(1));
    }

    [Test]
    public void Except_OnlyKeyBenched_NextReturnIsItsBench()
    {
        var f = new KeyPoolFixture(1);
        f.RateLimited(f.Keys[0], KeyPoolFixture.WeeklyLimit);

        Assert.That(f.ChooseNone(except: f.Keys[0]).RetryAfterSeconds, Is.EqualTo(6 * 3600));
    }

    [Test]
    public void RequestsInFlight_Their429sNeitherClimbTheLadderNorLogAgain()
    {
        var f = new KeyPoolFixture(2);
        var key = f.Keys[0];

        for (var i = 0; i < 4; i++)
        {
            f.RateLimited(key, KeyPoolFixture.SessionLimit);
            f.Clock.Advance(TimeSpan.FromSeconds(10));
        }

        Assert.That(f.Status(key).BenchedUntil, Is.EqualTo(KeyPoolFixture.Start.AddMinutes(15)));
        Assert.That(f.Status(key).RateLimitedCount, Is.EqualTo(4));
        Assert.That(f.LinesContaining("rate limited"), Is.EqualTo(1));

        f.Clock.Advance(TimeSpan.FromMinutes(15));
        f.RateLimited(key, KeyPoolFixture.SessionLimit);
        Assert.That(f.BenchLeft(key), Is.EqualTo(TimeSpan.FromMinutes(30)), "the second step, not the fifth");
    }

    [Test]
    public void RequestInFlight_ALaterNamedReset_MovesTheReturn()
    {
        var f = new KeyPoolFixture(2);
        f.RateLimited(f.Keys[0], KeyPoolFixture.SessionLimit);

        f.RateLimited(f.Keys[0], KeyPoolFixture.SessionLimit, retryAfter: "3600");
        f.RateLimited(f.Keys[0], KeyPoolFixture.SessionLimit, retryAfter: "60");

        Assert.That(f.BenchLeft(f.Keys[0]), Is.EqualTo(TimeSpan.FromHours(1)));
    }

    [Test]
    public void LongerLimitWhileBenched_BenchExtendedAndLogged()
    {
        var f = new KeyPoolFixture(2);
        f.RateLimited(f.Keys[0], KeyPoolFixture.SessionLimit);

        f.RateLimited(f.Keys[0], KeyPoolFixture.WeeklyLimit);

        Assert.That(f.BenchLeft(f.Keys[0]), Is.EqualTo(TimeSpan.FromHours(6)));
        Assert.That(f.LinesContaining("Upstream key#1 (…0001) bench extended (weekly limit named while benched): benched for 06:00:00"), Is.EqualTo(1));
    }

    [Test]
    public void Snapshot_EveryKeyWithStateBenchAndCount()
    {
        var f = new KeyPoolFixture(3);
        f.RateLimited(f.Keys[0], KeyPoolFixture.SessionLimit);
        f.RateLimited(f.Keys[1], KeyPoolFixture.UnnamedLimit);
        f.Pool.Disable(f.Keys[2], 403);
        f.Clock.Advance(TimeSpan.FromMinutes(5));

        Assert.That(f.Pool.Snapshot(), Is.EqualTo(new[]
        {
            new KeyStatus("key#1 (…0001)", KeyState.Benched, KeyPoolFixture.Start.AddMinutes(15), 1),
            new KeyStatus("key#2 (…0002)", KeyState.Up, null, 1),
            new KeyStatus("key#3 (…0003)", KeyState.Disabled, null, 0),
        }));
        Assert.That(f.LinesContaining("back in service"), Is.Zero, "a snapshot changes nothing");
    }

    [Test]
    public void LogLines_NameKeysOnlyByLabel()
    {
        var f = new KeyPoolFixture(3);
        f.RateLimited(f.Keys[0], KeyPoolFixture.SessionLimit, retryAfter: "5");
        f.RateLimited(f.Keys[1], KeyPoolFixture.WeeklyLimit);
        f.Pool.Disable(f.Keys[2], 401);
        f.Clock.Advance(TimeSpan.FromDays(1));
        f.Choose();
        f.Choose();

        Assert.That(f.Logs.Lines, Has.Count.EqualTo(5));
        foreach (var secret in f.Secrets)
        {
            Assert.That(f.Logs.Lines, Has.None.Contains(secret[^(UpstreamKey.LabelTailLength + 1)..]));
        }

        Assert.That(f.Logs.Lines, Has.Some.EqualTo(
            "Warning KeyPool: Upstream key#2 (…0002) rate limited (weekly limit): benched for 06:00:00 until 2026-03-15 18:00:00Z (back-off step 1)"));
    }

    [Test]
    public void TryChoose_AllocatesNothing()
    {
        var f = new KeyPoolFixture(4);
        f.RateLimited(f.Keys[1], KeyPoolFixture.SessionLimit);
        f.Pool.Disable(f.Keys[2], 401);
        for (var i = 0; i < 100; i++)
        {
            f.Pool.TryChoose(out _, out _, except: f.Keys[3]);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            f.Pool.TryChoose(out _, out _, except: i % 2 == 0 ? f.Keys[3] : null);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void KeyOfAnotherPool_Rejected()
    {
        var f = new KeyPoolFixture(2);
        var other = new KeyPoolFixture(2);

        Assert.Throws<ArgumentException>(() => f.Pool.Disable(other.Keys[0], 401));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new UpstreamKeyPool([], TimeProvider.System, NullLogger.Instance));
    }
}
