using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Listener;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>RFC 9110 §6.6.1: the Date the proxy sends follows its clock, formatted once per second, not per response.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class DateHeaderTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static string Text(ReadOnlySpan<byte> line) => System.Text.Encoding.Latin1.GetString(line);

    [Test]
    public void FieldLine_IsTheClocksCurrentSecond()
    {
        var clock = new FakeTimeProvider(Start.AddMilliseconds(999));

        Assert.That(Text(new DateHeader(clock).FieldLine), Is.EqualTo("Date: Sun, 01 Mar 2026 12:00:00 GMT\r\n"));
    }

    [Test]
    public void SameSecond_SameBytesNotFormattedAgain()
    {
        var clock = new FakeTimeProvider(Start);
        var date = new DateHeader(clock);

        ref readonly var first = ref MemoryMarshal.GetReference(date.FieldLine);
        clock.Advance(TimeSpan.FromMilliseconds(999));
        ref readonly var second = ref MemoryMarshal.GetReference(date.FieldLine);

        Assert.That(Unsafe.AreSame(in first, in second), Is.True, "a new array within the same second");
    }

    [Test]
    public void ClockMovesToTheNextSecond_FieldLineFollows()
    {
        var clock = new FakeTimeProvider(Start.AddMilliseconds(500));
        var date = new DateHeader(clock);
        var before = Text(date.FieldLine);

        clock.Advance(TimeSpan.FromMilliseconds(500));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(before, Is.EqualTo("Date: Sun, 01 Mar 2026 12:00:00 GMT\r\n"));
            Assert.That(Text(date.FieldLine), Is.EqualTo("Date: Sun, 01 Mar 2026 12:00:01 GMT\r\n"));
        }
    }

    [Test]
    public void ClockJumpsAhead_FieldLineFollowsWithoutATimerFiring()
    {
        var clock = new FakeTimeProvider(Start);
        var date = new DateHeader(clock);
        _ = date.FieldLine;

        clock.AdjustTime(Start.AddDays(40).AddHours(3));

        Assert.That(Text(date.FieldLine), Is.EqualTo("Date: Fri, 10 Apr 2026 15:00:00 GMT\r\n"));
    }
}
