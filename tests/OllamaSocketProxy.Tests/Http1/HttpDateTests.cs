using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>RFC 9110 §5.6.7: the Date field line in IMF-fixdate, whatever offset and fraction the time has.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class HttpDateTests
{
    private static string FieldLine(DateTimeOffset time)
    {
        var line = new byte[HttpDate.FieldLineLength];
        HttpDate.WriteFieldLine(time, line);
        return Latin1.Text(line);
    }

    [Test]
    public void Rfc9110Example_WrittenAsIMFFixdate()
    {
        Assert.That(FieldLine(new DateTimeOffset(1994, 11, 6, 8, 49, 37, TimeSpan.Zero)), Is.EqualTo("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
    }

    [Test]
    public void TimeWithAnOffset_WrittenInGmt()
    {
        var sydney = new DateTimeOffset(2026, 1, 1, 9, 30, 5, TimeSpan.FromHours(11));

        Assert.That(FieldLine(sydney), Is.EqualTo("Date: Wed, 31 Dec 2025 22:30:05 GMT\r\n"));
    }

    [Test]
    public void FractionOfASecond_Dropped()
    {
        var time = new DateTimeOffset(2026, 2, 28, 23, 59, 59, TimeSpan.Zero).AddTicks(TimeSpan.TicksPerSecond - 1);

        Assert.That(FieldLine(time), Is.EqualTo("Date: Sat, 28 Feb 2026 23:59:59 GMT\r\n"));
    }

    [Test]
    public void FieldLine_FillsExactlyItsLengthAndNoMore()
    {
        var buffer = new byte[HttpDate.FieldLineLength + 1];
        buffer[^1] = 0xAA;

        HttpDate.WriteFieldLine(new DateTimeOffset(2000, 1, 2, 3, 4, 5, TimeSpan.Zero), buffer);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Latin1.Text(buffer.AsSpan(0, HttpDate.FieldLineLength)), Is.EqualTo("Date: Sun, 02 Jan 2000 03:04:05 GMT\r\n"));
            Assert.That(buffer[^1], Is.EqualTo(0xAA));
        }
    }
}
