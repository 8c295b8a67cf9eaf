using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>
/// RFC 9112 §6.3 in order: how a request or response body is framed, or why it is refused
/// (docs/BEHAVIOUR.md#request-body-framing and #response-framing).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class BodyFramingTests
{
    private static string RequestOn(string version, params string[] fieldLines) =>
        $"POST /api/chat {version}\r\nHost: a\r\n" + string.Concat(fieldLines.Select(line => line + "\r\n")) + "\r\n";

    private static string Request(params string[] fieldLines) => RequestOn("HTTP/1.1", fieldLines);

    private static string Response(string statusLine, params string[] fieldLines) =>
        statusLine + "\r\n" + string.Concat(fieldLines.Select(line => line + "\r\n")) + "\r\n";

    // :: Requests: Content-Length (RFC 9110 §8.6)

    private static IEnumerable<TestCaseData> ValidContentLengths() => Cross(
        Case("no framing fields", Request(), "None:0"),
        Case("5", Request("Content-Length: 5"), "ContentLength:5"),
        Case("0 is no body", Request("Content-Length: 0"), "None:0"),
        Case("leading zeros", Request("Content-Length: 007"), "ContentLength:7"),
        Case("OWS around the value", Request("Content-Length: \t 5 \t"), "ContentLength:5"),
        Case("identical list 5, 5", Request("Content-Length: 5, 5"), "ContentLength:5"),
        Case("identical repeated fields", Request("Content-Length: 5", "Content-Length: 5"), "ContentLength:5"),
        Case("largest long", Request("Content-Length: 9223372036854775807"), "ContentLength:9223372036854775807"),
        Case("HTTP/1.0 with Content-Length", RequestOn("HTTP/1.0", "Content-Length: 3"), "ContentLength:3"));

    [TestCaseSource(nameof(ValidContentLengths))]
    public void ValidContentLength_FramesTheBody(string head, string framing, BufferShape shape)
    {
        Assert.That(RequestParse.Run(head, shape).Framing(), Is.EqualTo(framing));
    }

    private static IEnumerable<TestCaseData> InvalidContentLengths() => Cross(
        Case("minus sign", "-5"),
        Case("space inside", " 5 5"),
        Case("hex", "0x5"),
        Case("decimal point", "5.0"),
        Case("exponent", "5e3"),
        Case("letters", "abc"),
        Case("empty", ""),
        Case("only commas", " , "),
        Case("overflow by one", "9223372036854775808"),
        Case("overflow by far", "99999999999999999999999999"),
        Case("differing list", "5, 6"),
        Case("identical then malformed", "5, +5"),
        Case("superscript digit", "\u00b9"));

    [TestCaseSource(nameof(InvalidContentLengths))]
    public void MalformedContentLength_Rejected400(string value, BufferShape shape)
    {
        var framing = RequestParse.Run(Request($"Content-Length: {value}"), shape).Framing();

        Assert.That(framing, Is.EqualTo("rejected InvalidContentLength (400)"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void ContentLengthFieldsThatDiffer_Rejected400(BufferShape shape)
    {
        var framing = RequestParse.Run(Request("Content-Length: 5", "X-A: 1", "content-length: 6"), shape).Framing();

        Assert.That(framing, Is.EqualTo("rejected InvalidContentLength (400)"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void ContentLengthWithPlusSign_Rejected400(BufferShape shape)
    {
        Assert.That(RequestParse.Run(Request("Content-Length: +5"), shape).Framing(), Is.EqualTo("rejected InvalidContentLength (400)"));
    }

    // :: Requests: Transfer-Encoding (RFC 9112 §6.1, §6.3 point 4)

    private static IEnumerable<TestCaseData> TransferEncodings() => Cross(
        Case("chunked", Request("Transfer-Encoding: chunked"), "Chunked:-1"),
        Case("chunked in upper case", Request("Transfer-Encoding: CHUNKED"), "Chunked:-1"),
        Case("chunked with OWS and empty list elements", Request("Transfer-Encoding: , chunked ,"), "Chunked:-1"),
        Case("xchunked", Request("Transfer-Encoding: xchunked"), "rejected InvalidTransferEncoding (400)"),
        Case("chunked, gzip", Request("Transfer-Encoding: chunked, gzip"), "rejected InvalidTransferEncoding (400)"),
        Case("identity", Request("Transfer-Encoding: identity"), "rejected InvalidTransferEncoding (400)"),
        Case("gzip alone", Request("Transfer-Encoding: gzip"), "rejected InvalidTransferEncoding (400)"),
        Case("chunked twice in one field", Request("Transfer-Encoding: chunked, chunked"), "rejected InvalidTransferEncoding (400)"),
        Case("chunked twice in two fields", Request("Transfer-Encoding: chunked", "Transfer-Encoding: chunked"), "rejected InvalidTransferEncoding (400)"),
        Case("empty", Request("Transfer-Encoding:"), "rejected InvalidTransferEncoding (400)"),
        Case("chunked with a parameter", Request("Transfer-Encoding: chunked;q=1"), "rejected InvalidTransferEncoding (400)"),
        Case("chunked on HTTP/1.0", RequestOn("HTTP/1.0", "Transfer-Encoding: chunked"), "rejected InvalidTransferEncoding (400)"),
        Case("gzip, chunked", Request("Transfer-Encoding: gzip, chunked"), "rejected UnsupportedTransferCoding (501)"),
        Case("gzip then chunked in two fields", Request("Transfer-Encoding: gzip", "Transfer-Encoding: chunked"), "rejected UnsupportedTransferCoding (501)"));

    [TestCaseSource(nameof(TransferEncodings))]
    public void TransferEncoding_FramedOrRejected(string head, string framing, BufferShape shape)
    {
        Assert.That(RequestParse.Run(head, shape).Framing(), Is.EqualTo(framing));
    }

    private static IEnumerable<TestCaseData> ContentLengthAndTransferEncoding() => Cross(
        Case("chunked then Content-Length", Request("Transfer-Encoding: chunked", "Content-Length: 5")),
        Case("Content-Length then chunked", Request("Content-Length: 5", "Transfer-Encoding: chunked")),
        Case("Content-Length 0", Request("Content-Length: 0", "Transfer-Encoding: chunked")),
        Case("invalid Content-Length", Request("Content-Length: x", "Transfer-Encoding: chunked")),
        Case("invalid Transfer-Encoding", Request("Content-Length: 5", "Transfer-Encoding: identity")));

    /// <summary>RFC 9112 §6.3 point 3: the request smuggling signature; refused rather than guessed.</summary>
    [TestCaseSource(nameof(ContentLengthAndTransferEncoding))]
    public void ContentLengthAndTransferEncoding_Rejected400(string head, BufferShape shape)
    {
        Assert.That(RequestParse.Run(head, shape).Framing(), Is.EqualTo("rejected ContentLengthAndTransferEncoding (400)"));
    }

    // :: Responses (RFC 9112 §6.3 points 1–7)

    private static IEnumerable<TestCaseData> ResponseFramings() => Cross(
        Case("HEAD response with Content-Length", RequestMethod.Head, Response("HTTP/1.1 200 OK", "Content-Length: 10"), "None:0"),
        Case("HEAD response with chunked", RequestMethod.Head, Response("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "None:0"),
        Case("100 Continue", RequestMethod.Post, Response("HTTP/1.1 100 Continue"), "None:0"),
        Case("103 Early Hints with Content-Length", RequestMethod.Get, Response("HTTP/1.1 103 Early Hints", "Content-Length: 5"), "None:0"),
        Case("204 with Content-Length", RequestMethod.Get, Response("HTTP/1.1 204 No Content", "Content-Length: 5"), "None:0"),
        Case("304 with Content-Length", RequestMethod.Get, Response("HTTP/1.1 304 Not Modified", "Content-Length: 5"), "None:0"),
        Case("Content-Length", RequestMethod.Get, Response("HTTP/1.1 200 OK", "Content-Length: 10"), "ContentLength:10"),
        Case("Content-Length 0", RequestMethod.Post, Response("HTTP/1.1 200 OK", "Content-Length: 0"), "ContentLength:0"),
        Case("identical Content-Length list", RequestMethod.Get, Response("HTTP/1.1 200 OK", "Content-Length: 4, 4"), "ContentLength:4"),
        Case("chunked", RequestMethod.Post, Response("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "Chunked:-1"),
        Case("gzip, chunked", RequestMethod.Get, Response("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked"), "Chunked:-1"),
        Case("chunked not last", RequestMethod.Get, Response("HTTP/1.1 200 OK", "Transfer-Encoding: chunked, gzip"), "UntilClose:-1"),
        Case("no framing fields", RequestMethod.Get, Response("HTTP/1.1 200 OK"), "UntilClose:-1"),
        Case("HTTP/1.0 without framing", RequestMethod.Get, Response("HTTP/1.0 200 OK"), "UntilClose:-1"),
        Case("404 with Content-Length", RequestMethod.Get, Response("HTTP/1.1 404 Not Found", "Content-Length: 18"), "ContentLength:18"),
        Case("both Content-Length and chunked", RequestMethod.Get, Response("HTTP/1.1 200 OK", "Content-Length: 5", "Transfer-Encoding: chunked"), "invalid"),
        Case("both, chunked first", RequestMethod.Post, Response("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Content-Length: 5"), "invalid"),
        Case("malformed Content-Length", RequestMethod.Get, Response("HTTP/1.1 200 OK", "Content-Length: +5"), "invalid"),
        Case("differing Content-Length", RequestMethod.Get, Response("HTTP/1.1 200 OK", "Content-Length: 5", "Content-Length: 6"), "invalid"));

    [TestCaseSource(nameof(ResponseFramings))]
    public void ResponseFraming_FollowsRfc9112Section6_3(RequestMethod method, string head, string framing, BufferShape shape)
    {
        Assert.That(ResponseParse.Run(head, shape).Framing(method), Is.EqualTo(framing));
    }
}
