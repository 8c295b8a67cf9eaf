using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>RFC 9112 §4–§5: the upstream's response head, over every buffer shape (docs/BEHAVIOUR.md#response-framing).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ResponseHeadParserTests
{
    private const int MaxHeadSize = 64 * 1024;
    private const int MaxFieldCount = 256;

    private static string Response(string statusLine, params string[] fieldLines) =>
        statusLine + "\r\n" + string.Concat(fieldLines.Select(line => line + "\r\n")) + "\r\n";

    private static readonly string[] s_validHeads =
    [
        Response("HTTP/1.1 200 OK", "Content-Type: application/x-ndjson", "Transfer-Encoding: chunked"),
        Response("HTTP/1.1 204"),
        Response("HTTP/1.0 404 Not Found", "Content-Length: 18", "X-Empty:"),
        Response("HTTP/1.1 100 Continue"),
        Response("HTTP/1.1 502 Bad \u00e9 Gateway", "Connection: close, X-Hop", "X-Hop: 1", "Via: 1.1 edge"),
    ];

    private static IEnumerable<TestCaseData> ValidHeads() =>
        Cross([.. s_validHeads.Select((head, i) => Case($"head {i}", head))]);

    [TestCaseSource(nameof(ValidHeads))]
    public void EveryIncompletePrefixOfValidHead_ReturnsFalseAndConsumesNothing(string head, BufferShape shape)
    {
        var bytes = Latin1.Bytes(head);
        for (var length = 0; length < bytes.Length; length++)
        {
            var parse = ResponseParse.Run(shape.Build(bytes.AsSpan(0, length)));

            Assert.That(parse.Summary, Is.EqualTo("incomplete consumed=0"), $"prefix of {length} bytes");
        }
    }

    [TestCaseSource(nameof(ValidHeads))]
    public void ValidHeadFollowedByBody_ConsumedUpToTheEmptyLine(string head, BufferShape shape)
    {
        var parse = ResponseParse.Run(head + "{\"done\":true}\n", shape);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(parse.Consumed, Is.EqualTo(head.Length), parse.Summary);
            Assert.That(Latin1.Text(parse.Head.Bytes), Is.EqualTo(head));
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void StreamingResponse_ParsesStatusLineAndFields(BufferShape shape)
    {
        var head = ResponseParse.Run(Response("HTTP/1.1 200 OK", "Content-Type: application/x-ndjson", "Date: x", "Transfer-Encoding: chunked"), shape).Head;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(head.StatusCode, Is.EqualTo(200));
            Assert.That(head.Version, Is.EqualTo(Http1Version.Http11));
            Assert.That(Latin1.Text(head.StatusLine), Is.EqualTo("HTTP/1.1 200 OK"));
            Assert.That(head.IsInterim, Is.False);
            Assert.That(head.WantsClose, Is.False);
            Assert.That(head.TransferCoding, Is.EqualTo(TransferCoding.Chunked));
            Assert.That(head.HasDate, Is.True);
            Assert.That(head.Fields.ToArray().Select(f => $"{Latin1.Text(f.Name(head.Bytes))}={Latin1.Text(f.Value(head.Bytes))}|{f.Known}"), Is.EqualTo(new[]
            {
                "Content-Type=application/x-ndjson|ContentType",
                "Date=x|Date",
                "Transfer-Encoding=chunked|TransferEncoding",
            }));
        }
    }

    private static IEnumerable<TestCaseData> StatusLines() => Cross(
        Case("no reason phrase", "HTTP/1.1 204", 204, Http1Version.Http11, false),
        Case("empty reason phrase", "HTTP/1.1 404 ", 404, Http1Version.Http11, false),
        Case("reason with HTAB and obs-text", "HTTP/1.1 200 O\tK \u00e9", 200, Http1Version.Http11, false),
        Case("HTTP/1.0 does not persist", "HTTP/1.0 200 OK", 200, Http1Version.Http10, true),
        Case("interim", "HTTP/1.1 103 Early Hints", 103, Http1Version.Http11, false),
        Case("lowest status", "HTTP/1.1 100 Continue", 100, Http1Version.Http11, false),
        Case("highest three digits", "HTTP/1.1 599 Custom", 599, Http1Version.Http11, false));

    [TestCaseSource(nameof(StatusLines))]
    public void StatusLine_Parsed(string statusLine, int status, Http1Version version, bool close, BufferShape shape)
    {
        var head = ResponseParse.Run(Response(statusLine), shape).Head;

        using (Assert.EnterMultipleScope())
        {
            Assert.That((head.StatusCode, head.Version, head.WantsClose), Is.EqualTo((status, version, close)));
            Assert.That(head.IsInterim, Is.EqualTo(status < 200));
            Assert.That(Latin1.Text(head.StatusLine), Is.EqualTo(statusLine));
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void ConnectionClose_ParsedAsWantingClose(BufferShape shape)
    {
        var head = ResponseParse.Run(Response("HTTP/1.1 200 OK", "Connection: Close", "Content-Length: 0"), shape).Head;

        Assert.That(head.WantsClose, Is.True);
    }

    private static IEnumerable<TestCaseData> MalformedHeads() => Cross(
        Case("HTTP/2", Response("HTTP/2 200 OK")),
        Case("HTTP/1.2", Response("HTTP/1.2 200 OK")),
        Case("lower-case version", Response("http/1.1 200 OK")),
        Case("two-digit status", Response("HTTP/1.1 20 OK")),
        Case("four-digit status", Response("HTTP/1.1 2000 OK")),
        Case("status below 100", Response("HTTP/1.1 099 Low")),
        Case("letters in status", Response("HTTP/1.1 2x0 OK")),
        Case("two spaces before status", Response("HTTP/1.1  200 OK")),
        Case("HTAB after status", Response("HTTP/1.1 200\tOK")),
        Case("control byte in reason", Response("HTTP/1.1 200 O\u0001K")),
        Case("NUL in reason", Response("HTTP/1.1 200 O\0K")),
        Case("empty status line", Response("")),
        Case("empty line before the status line", "\r\n" + Response("HTTP/1.1 200 OK")),
        Case("status line ending in bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),
        Case("bare CR at a line start", Response("HTTP/1.1 200 OK", "\rX: 1")),
        Case("bare CR in a value", Response("HTTP/1.1 200 OK", "X: 1\r2")),
        Case("field line ending in bare LF", "HTTP/1.1 200 OK\r\nX: 1\nY: 2\r\n\r\n"),
        Case("obs-fold", Response("HTTP/1.1 200 OK", "X: 1", " folded")),
        Case("space before colon", Response("HTTP/1.1 200 OK", "X : 1")),
        Case("no colon", Response("HTTP/1.1 200 OK", "no colon")),
        Case("NUL in a value", Response("HTTP/1.1 200 OK", "X: a\0b")));

    [TestCaseSource(nameof(MalformedHeads))]
    public void MalformedHead_ThrowsInvalidResponse(string head, BufferShape shape)
    {
        Assert.That(ResponseParse.Run(head, shape).Result, Is.EqualTo(ParseResult.Rejected));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void FieldCountAtLimit_Parsed(BufferShape shape)
    {
        var head = ResponseParse.Run(Response("HTTP/1.1 200 OK", [.. Enumerable.Range(0, MaxFieldCount).Select(i => $"X-{i}: v")]), shape);

        Assert.That(head.Head.Fields.Length, Is.EqualTo(MaxFieldCount));
    }

    private static IEnumerable<TestCaseData> OverLimits() => Cross(
        Case("one field too many", Response("HTTP/1.1 200 OK", [.. Enumerable.Range(0, MaxFieldCount + 1).Select(i => $"X-{i}: v")])),
        Case("head too large", Response("HTTP/1.1 200 OK", "X-Pad: " + new string('p', MaxHeadSize))),
        Case("head too large, unfinished", "HTTP/1.1 200 OK\r\nX-Pad: " + new string('p', MaxHeadSize)),
        Case("status line too long", Response("HTTP/1.1 200 " + new string('r', 9 * 1024))),
        Case("status line too long, unfinished", "HTTP/1.1 200 " + new string('r', 9 * 1024)));

    /// <summary>The proxy bounds what it buffers from the upstream too, and decides without waiting for the rest.</summary>
    [TestCaseSource(nameof(OverLimits))]
    public void HeadOverLimit_ThrowsInvalidResponse(string head, BufferShape shape)
    {
        var parse = ResponseParse.Run(head, shape);

        Assert.That(parse.Result, Is.EqualTo(ParseResult.Rejected), parse.Summary);
    }
}
