using OllamaSocketProxy.Listener.Usage;
using static OllamaSocketProxy.Tests.Listener.Usage.UsageFixtures;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>One row's sums in memory: how a request adds to them, and what a flush takes as not yet written.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class UsageCellTests
{
    [Test]
    public void Add_SumsCountsAndTimes_KeepsTheLongest_CountsARequestWithoutTokensAsUnknown()
    {
        var row = new UsageCell(UsageRollupKey.For(Record()));
        row.Add(Record(prompt: 3, completion: 4, ttfbMs: 1.0009, durationMs: 5));
        row.Add(Record(prompt: null, completion: null, ttfbMs: 2, durationMs: 9));
        row.Add(Record(prompt: -7, completion: 1, ttfbMs: -1, durationMs: 2));

        Assert.That(row.TryTakeUnwritten(out var now, out var unwritten), Is.True);
        Assert.That(
            (now.Requests, now.PromptTokens, now.CompletionTokens, now.UnknownTokenRequests, now.TimeToFirstByteMicroseconds, now.DurationMicroseconds, now.MaxDurationMicroseconds),
            Is.EqualTo((3L, 3L, 5L, 1L, 3000L, 16_000L, 9000L)),
            "a count below zero adds nothing, a time below zero adds zero, and times are whole microseconds");
        Assert.That(unwritten, Is.EqualTo(now), "nothing was written yet");
    }

    [Test]
    public void TryTakeUnwritten_AfterAWrite_TakesOnlyWhatCameSince()
    {
        var row = new UsageCell(UsageRollupKey.For(Record()));
        row.Add(Record(prompt: 10, completion: 20, durationMs: 50));
        Assert.That(row.TryTakeUnwritten(out var written, out _), Is.True);
        row.MarkWritten(written);

        Assert.That(row.TryTakeUnwritten(out _, out _), Is.False, "nothing new");
        row.Add(Record(prompt: 1, completion: 2, durationMs: 30));

        Assert.That(row.TryTakeUnwritten(out _, out var unwritten), Is.True);
        Assert.That(
            (unwritten.Requests, unwritten.PromptTokens, unwritten.CompletionTokens, unwritten.DurationMicroseconds, unwritten.MaxDurationMicroseconds),
            Is.EqualTo((1L, 1L, 2L, 30_000L, 50_000L)),
            "the longest duration goes again as it is: the store keeps the larger");
    }

    [Test]
    public void TryTakeUnwritten_AMaximumSetAfterAFlushReadTheRequest_IsStillUnwritten()
    {
        // A flush that read the request's duration before the request set the maximum wrote the old maximum.
        var row = new UsageCell(UsageRollupKey.For(Record()));
        row.Add(Record(durationMs: 80));
        Assert.That(row.TryTakeUnwritten(out var now, out _), Is.True);
        row.MarkWritten(now with { MaxDurationMicroseconds = 0 });

        Assert.That(row.TryTakeUnwritten(out _, out var unwritten), Is.True);
        Assert.That((unwritten.Requests, unwritten.MaxDurationMicroseconds), Is.EqualTo((0L, 80_000L)));
    }
}
