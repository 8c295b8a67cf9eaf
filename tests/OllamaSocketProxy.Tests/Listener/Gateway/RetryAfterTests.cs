using System.Text;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Http1;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>RFC 9110 §10.2.3: Retry-After as delay-seconds or as an HTTP-date in any of the three formats of §5.6.7.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class RetryAfterTests
{
    private static readonly DateTimeOffset s_now = new(1994, 11, 6, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset s_date = new(1994, 11, 6, 8, 49, 37, TimeSpan.Zero);

    [TestCase("120", 120)]
    [TestCase("0", 0)]
    [TestCase(" 7\t", 7)]
    [TestCase("0003600", 3600)]
    public void DelaySeconds_CountedFromNow(string value, int seconds)
    {
        Assert.That(RetryAfter.TryParse(Encoding.ASCII.GetBytes(value), s_now, out var until), Is.True);
        Assert.That(until, Is.EqualTo(s_now.AddSeconds(seconds)));
    }

    [TestCase("Sun, 06 Nov 1994 08:49:37 GMT")]
    [TestCase("Sunday, 06-Nov-94 08:49:37 GMT")]
    [TestCase("Sun Nov  6 08:49:37 1994")]
    public void HttpDate_AllThreeFormats(string value)
    {
        Assert.That(RetryAfter.TryParse(Encoding.ASCII.GetBytes(value), s_now, out var until), Is.True);
        Assert.That(until, Is.EqualTo(s_date));
    }

    [Test]
    public void HugeDelay_BoundedInsteadOfOverflowing()
    {
        Assert.That(RetryAfter.TryParse("99999999999999999999999999"u8, s_now, out var until), Is.True);
        Assert.That(until, Is.GreaterThan(s_now.AddYears(9)).And.LessThan(s_now.AddYears(11)));
    }

    [TestCase("")]
    [TestCase("   ")]
    [TestCase("-5")]
    [TestCase("+5")]
    [TestCase("5.5")]
    [TestCase("5 s")]
    [TestCase("0x10")]
    [TestCase("soon")]
    [TestCase("Sun, 06 Nov 1994 08:49:37 PST")]
    [TestCase("Sun, 06 Nov 1994 25:49:37 GMT")]
    [TestCase("2026-03-15T17:00:00Z")]
    public void Malformed_Ignored(string value)
    {
        Assert.That(RetryAfter.TryParse(Encoding.Latin1.GetBytes(value), s_now, out _), Is.False);
    }

    [Test]
    public void NonAsciiOrOverlongDate_Ignored()
    {
        Assert.That(RetryAfter.TryParse("Sun, 06 Nov 1994 08:49:37 GMT\u00e9"u8, s_now, out _), Is.False);
        Assert.That(RetryAfter.TryParse(Encoding.ASCII.GetBytes(new string('a', 200)), s_now, out _), Is.False);
    }

    [TestCaseSource(typeof(BufferShapes), nameof(BufferShapes.Each))]
    public void Find_TheRetryAfterFieldOfAResponseHead(BufferShape shape)
    {
        var parsed = ResponseParse.Run("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nretry-after: 30\r\nContent-Length: 2\r\n\r\n", shape);

        Assert.That(Encoding.ASCII.GetString(RetryAfter.Find(parsed.Head)), Is.EqualTo("30"));
    }

    [Test]
    public void Find_NoField_Empty()
    {
        var parsed = ResponseParse.Run("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n", BufferShapes.OneSegment);

        Assert.That(RetryAfter.Find(parsed.Head).IsEmpty, Is.True);
    }
}
