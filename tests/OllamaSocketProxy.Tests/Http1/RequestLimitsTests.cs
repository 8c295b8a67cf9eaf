using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>
/// Request line → 414, head size and field count → 431, each decided as soon as the bytes present exceed the
/// limit, never by waiting for the rest (docs/BEHAVIOUR.md#limits-and-timeouts).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestLimitsTests
{
    private static readonly RequestLimits s_small = new() { MaxRequestLineSize = 40, MaxHeadSize = 200, MaxHeaderCount = 5 };

    /// <summary>A request line of exactly <paramref name="length"/> bytes, CRLF excluded.</summary>
    private static string RequestLine(int length) => "GET /" + new string('a', length - "GET / HTTP/1.1".Length) + " HTTP/1.1";

    /// <summary>A complete head of exactly <paramref name="length"/> bytes, the final empty line included.</summary>
    private static string HeadOfSize(int length)
    {
        const string start = "GET /api/tags HTTP/1.1\r\nHost: a\r\nX-Pad: ";
        return start + new string('p', length - start.Length - 4) + "\r\n\r\n";
    }

    private static string HeadWithFields(int count) =>
        "GET / HTTP/1.1\r\nHost: a\r\n" + string.Concat(Enumerable.Range(1, count - 1).Select(i => $"X-{i}: v\r\n")) + "\r\n";

    private static IEnumerable<TestCaseData> Limits() => Cross(
        Case("default limits", RequestLimits.Default),
        Case("small limits", s_small));

    [TestCaseSource(nameof(Limits))]
    public void RequestLineAtLimit_Parsed(RequestLimits limits, BufferShape shape)
    {
        var line = RequestLine((int)limits.MaxRequestLineSize);

        var parse = RequestParse.Run(line + "\r\nHost: a\r\n\r\n", shape, limits with { MaxHeadSize = 64 * 1024 });

        Assert.That(parse.Result, Is.EqualTo(ParseResult.Parsed), parse.Summary);
    }

    [TestCaseSource(nameof(Limits))]
    public void RequestLineOverLimit_Rejected414(RequestLimits limits, BufferShape shape)
    {
        var line = RequestLine((int)limits.MaxRequestLineSize + 1);

        var parse = RequestParse.Run(line + "\r\nHost: a\r\n\r\n", shape, limits with { MaxHeadSize = 64 * 1024 });

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.RequestLineTooLong, 414)), parse.Summary);
    }

    [TestCaseSource(nameof(Limits))]
    public void RequestLineOverLimitBeforeItsEnd_Rejected414WithoutWaiting(RequestLimits limits, BufferShape shape)
    {
        var unfinished = "GET /" + new string('a', (int)limits.MaxRequestLineSize + 10);

        var parse = RequestParse.Run(unfinished, shape, limits);

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.RequestLineTooLong, 414)), parse.Summary);
    }

    [TestCaseSource(nameof(Limits))]
    public void HeadAtLimit_Parsed(RequestLimits limits, BufferShape shape)
    {
        var head = HeadOfSize((int)limits.MaxHeadSize);

        var parse = RequestParse.Run(head, shape, limits);

        Assert.That((parse.Result, parse.Consumed), Is.EqualTo((ParseResult.Parsed, head.Length)), parse.Summary);
    }

    [TestCaseSource(nameof(Limits))]
    public void HeadOverLimit_Rejected431(RequestLimits limits, BufferShape shape)
    {
        var parse = RequestParse.Run(HeadOfSize((int)limits.MaxHeadSize + 1), shape, limits);

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.HeadersTooLarge, 431)), parse.Summary);
    }

    [TestCaseSource(nameof(Limits))]
    public void HeadOverLimitBeforeItsEnd_Rejected431WithoutWaiting(RequestLimits limits, BufferShape shape)
    {
        var unfinished = HeadOfSize((int)limits.MaxHeadSize + 100)[..((int)limits.MaxHeadSize + 1)];

        var parse = RequestParse.Run(unfinished, shape, limits);

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.HeadersTooLarge, 431)), parse.Summary);
    }

    [TestCaseSource(nameof(Limits))]
    public void FieldCountAtLimit_Parsed(RequestLimits limits, BufferShape shape)
    {
        var parse = RequestParse.Run(HeadWithFields((int)limits.MaxHeaderCount), shape, limits);

        Assert.That(parse.Head.Fields.Length, Is.EqualTo(limits.MaxHeaderCount), parse.Summary);
    }

    [TestCaseSource(nameof(Limits))]
    public void FieldCountOverLimit_Rejected431(RequestLimits limits, BufferShape shape)
    {
        var parse = RequestParse.Run(HeadWithFields((int)limits.MaxHeaderCount + 1), shape, limits);

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.HeadersTooLarge, 431)), parse.Summary);
    }

    /// <summary>The parser never buffers more than its limit: every prefix longer than it is already refused.</summary>
    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void EveryPrefixOfOversizedHeadLongerThanTheLimit_Rejected431(BufferShape shape)
    {
        var head = Latin1.Bytes(HeadWithFields(4).Replace("v\r\n", new string('v', 60) + "\r\n", StringComparison.Ordinal));
        Assert.That(head, Has.Length.GreaterThan(s_small.MaxHeadSize + 10));

        for (var length = 0; length <= head.Length; length++)
        {
            var parse = RequestParse.Run(shape.Build(head.AsSpan(0, length)), s_small);

            var expected = length > s_small.MaxHeadSize ? "rejected HeadersTooLarge consumed=0" : "incomplete consumed=0";
            Assert.That(parse.Summary, Is.EqualTo(expected), $"prefix of {length} bytes");
        }
    }
}
