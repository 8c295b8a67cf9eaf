using System.Buffers;
using System.Text;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Http1;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>The body of an upstream 429: which limit it names, and the reset time when its text carries one.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class RateLimitBodyTests
{
    private static readonly DateTimeOffset s_now = new(2026, 3, 15, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Texts Ollama Cloud has sent, as users reported them (the account name changed).</summary>
    private static IEnumerable<TestCaseData> OllamaCloudBodies() => BufferShapes.Cross(
        BufferShapes.Case("session, upgrade link", """{"error":"you (someone) have reached your session usage limit, upgrade for higher limits: https://ollama.com/upgrade"}""", RateLimitKind.Session),
        BufferShapes.Case("session, please wait", """{"error":"you (someone) have reached your session usage limit, please wait or upgrade to continue"}""", RateLimitKind.Session),
        BufferShapes.Case("hourly (earlier text)", """{"error":"you've reached your hourly usage limit, please wait or upgrade to continue"}""", RateLimitKind.Session),
        BufferShapes.Case("weekly, please wait", """{"error":"you've reached your weekly usage limit, please wait or upgrade to continue"}""", RateLimitKind.Weekly),
        BufferShapes.Case("weekly, extra usage and ref", """{"error":"you (someone) have reached your weekly usage limit, upgrade for higher limits: https://ollama.com/upgrade or add extra usage: https://ollama.com/settings (ref: 0b7c1e52-9d4f-4c1a-8d0e-3f2a6b5c4d1e)"}""", RateLimitKind.Weekly),
        BufferShapes.Case("OpenAI-compatible wrapping", """{"error":{"message":"you (someone) have reached your weekly usage limit, please wait or upgrade to continue","type":"rate_limit_error","param":null,"code":null}}""", RateLimitKind.Weekly),
        BufferShapes.Case("Anthropic-compatible wrapping", """{"type":"error","error":{"type":"rate_limit_error","message":"you (someone) have reached your session usage limit"}}""", RateLimitKind.Session),
        BufferShapes.Case("escaped characters in the text", """{"error":"you\u0027ve reached your Weekly Usage Limit \u003cnow\u003e"}""", RateLimitKind.Weekly),
        BufferShapes.Case("unnamed limit", """{"error":"too many requests"}""", RateLimitKind.Other),
        BufferShapes.Case("session expired is no limit", """{"error":"session expired"}""", RateLimitKind.Other),
        BufferShapes.Case("not JSON", "you (someone) have reached your session usage limit", RateLimitKind.Session),
        BufferShapes.Case("empty", "", RateLimitKind.Other));

    [TestCaseSource(nameof(OllamaCloudBodies))]
    public void Body_ClassifiedByTheLimitItNames_WithoutAResetTime(string body, RateLimitKind kind, BufferShape shape)
    {
        var parsed = RateLimitBody.Parse(shape.Build(Encoding.UTF8.GetBytes(body)), s_now);

        Assert.That(parsed, Is.EqualTo(new RateLimitBody(kind, null)));
        Assert.That(RateLimitBody.Parse(Encoding.UTF8.GetBytes(body), s_now), Is.EqualTo(parsed), "span and sequence agree");
    }

    [TestCase("""{"error":"you have reached your daily usage limit"}""", RateLimitKind.Weekly)]
    [TestCase("""{"error":"you have reached your monthly usage limit"}""", RateLimitKind.Weekly)]
    [TestCase("""{"error":"session limit reached"}""", RateLimitKind.Session)]
    [TestCase("""{"error":"your session limit and weekly limit are both reached"}""", RateLimitKind.Weekly)]
    [TestCase("""{"error":"weekly limit reached; session limit reached too"}""", RateLimitKind.Weekly)]
    public void OtherLimitNames_ClassifiedByLength_AndTheLongerOneWins(string body, RateLimitKind kind)
    {
        Assert.That(RateLimitBody.Parse(Encoding.UTF8.GetBytes(body), s_now).Kind, Is.EqualTo(kind));
    }

    private static IEnumerable<TestCaseData> ResetTimes() => BufferShapes.Cross(
        BufferShapes.Case("RFC 3339 UTC", """{"error":"session usage limit reached, resets at 2026-03-15T17:00:00Z"}""", s_now.AddHours(5)),
        BufferShapes.Case("RFC 3339 with offset", """{"error":"weekly usage limit, resets 2026-03-16T02:00:00+01:00"}""", s_now.AddHours(13)),
        BufferShapes.Case("RFC 3339 fraction, no offset", """{"error":"session usage limit until 2026-03-15 12:30:00.5"}""", s_now.AddMinutes(30).AddMilliseconds(500)),
        BufferShapes.Case("in N hours", """{"error":"you have reached your session usage limit, resets in 5 hours"}""", s_now.AddHours(5)),
        BufferShapes.Case("Go duration", """{"error":"rate limited, please try again in 29m17.5s"}""", s_now.AddMinutes(29).AddSeconds(17.5)),
        BufferShapes.Case("hours and minutes", """{"error":"weekly usage limit; try again in 1 hour and 20 minutes"}""", s_now.AddMinutes(80)),
        BufferShapes.Case("days", """{"error":"weekly usage limit, resets in 3 days"}""", s_now.AddDays(3)),
        BufferShapes.Case("after N seconds", """{"error":{"message":"retry after 30 s"}}""", s_now.AddSeconds(30)),
        BufferShapes.Case("milliseconds", "try again in 1500ms", s_now.AddMilliseconds(1500)));

    [TestCaseSource(nameof(ResetTimes))]
    public void ResetTimeInTheText_Extracted(string body, DateTimeOffset reset, BufferShape shape)
    {
        var parsed = RateLimitBody.Parse(shape.Build(Encoding.UTF8.GetBytes(body)), s_now);

        Assert.That(parsed.ResetAt, Is.EqualTo(reset));
    }

    [TestCase("""{"error":"upgrade in 2 steps"}""")]
    [TestCase("""{"error":"login5h"}""")]
    [TestCase("""{"error":"(ref: 2026-03-15)"}""")]
    public void TextWithoutADelayOrTime_NoResetTime(string body)
    {
        Assert.That(RateLimitBody.Parse(Encoding.UTF8.GetBytes(body), s_now).ResetAt, Is.Null);
    }

    [Test]
    public void ErrorAfterOtherProperties_StillFound()
    {
        var body = """{"code":429,"details":{"a":[1,2,{"error":"session usage limit"}]},"error":"you have reached your weekly usage limit"}""";

        Assert.That(RateLimitBody.Parse(Encoding.UTF8.GetBytes(body), s_now).Kind, Is.EqualTo(RateLimitKind.Weekly));
    }

    [Test]
    public void TruncatedBody_TextBeforeTheCutStillClassified()
    {
        var body = Encoding.UTF8.GetBytes("""{"error":"you have reached your weekly usage limit, upgrade for higher limits: https://ollama.com/upgrade"}""");

        Assert.That(RateLimitBody.Parse(body.AsSpan(0, 60), s_now).Kind, Is.EqualTo(RateLimitKind.Weekly));
    }

    [Test]
    public void LongBody_OnlyItsStartIsRead()
    {
        var body = Encoding.UTF8.GetBytes("{\"error\":\"" + new string('x', RateLimitBody.MaxInspectedLength) + " weekly usage limit\"}");

        Assert.That(RateLimitBody.Parse(body, s_now).Kind, Is.EqualTo(RateLimitKind.Other));
        Assert.That(RateLimitBody.Parse(new ReadOnlySequence<byte>(body), s_now).Kind, Is.EqualTo(RateLimitKind.Other));
    }

    [Test]
    public void InvalidUtf8_ReadAsTextWithoutThrowing()
    {
        byte[] body = [.. "{\"error\":\"weekly usage limit "u8, 0xC3, 0x28, .. "\"}"u8];

        Assert.That(RateLimitBody.Parse(body, s_now).Kind, Is.EqualTo(RateLimitKind.Weekly));
    }

    [Test]
    public void HugeDelay_BoundedInsteadOfOverflowing()
    {
        var parsed = RateLimitBody.Parse("""{"error":"try again in 99999999999999999999 days"}"""u8, s_now);

        Assert.That(parsed.ResetAt, Is.GreaterThan(s_now.AddDays(365)).And.LessThan(s_now.AddDays(401)));
    }
}
