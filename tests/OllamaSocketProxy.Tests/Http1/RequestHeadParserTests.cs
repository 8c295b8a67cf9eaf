using System.Buffers;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>RFC 9112 §2–§5: the request head, over every buffer shape (docs/BEHAVIOUR.md#request-head).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestHeadParserTests
{
    /// <summary>An HTTP/1.1 GET with Host and the given field lines.</summary>
    private static string Head(params string[] fieldLines) =>
        "GET /api/tags HTTP/1.1\r\nHost: proxy.test\r\n" + string.Concat(fieldLines.Select(line => line + "\r\n")) + "\r\n";

    private static readonly string[] s_validHeads =
    [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /api/chat?stream=true HTTP/1.1\r\nHost: localhost:11434\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n",
        "GET /api/tags HTTP/1.0\r\n\r\n",
        "\r\n\r\nHEAD /v1/models HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Ows: \t v \t\r\nConnection: close, X-Trace\r\nX-Trace: 1\r\n\r\n",
        "POST /generate HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nAuthorization: Bearer t\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: a\r\nX-Name: caf\u00e9\r\n\r\n",
    ];

    private static IEnumerable<TestCaseData> ValidHeads() =>
        Cross([.. s_validHeads.Select((head, i) => Case($"head {i}", head))]);

    [TestCaseSource(nameof(ValidHeads))]
    public void EveryIncompletePrefixOfValidHead_ReturnsFalseAndConsumesNothing(string head, BufferShape shape)
    {
        var bytes = Latin1.Bytes(head);
        for (var length = 0; length < bytes.Length; length++)
        {
            var parse = RequestParse.Run(shape.Build(bytes.AsSpan(0, length)));

            Assert.That(parse.Summary, Is.EqualTo("incomplete consumed=0"), $"prefix of {length} bytes: {Latin1.Escape(bytes.AsSpan(0, length))}");
        }
    }

    [TestCaseSource(nameof(ValidHeads))]
    public void ValidHeadFollowedByBody_ParsedAndConsumedUpToTheEmptyLine(string head, BufferShape shape)
    {
        var parse = RequestParse.Run(head + "{\"model\":\"x\"}", shape);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(parse.Result, Is.EqualTo(ParseResult.Parsed), parse.Summary);
            Assert.That(parse.Consumed, Is.EqualTo(head.Length));
            Assert.That(Latin1.Text(parse.Head.Bytes), Is.EqualTo(head.TrimStart('\r', '\n')));
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void PostWithFields_ParsesRequestLineAndFieldsInOrder(BufferShape shape)
    {
        const string head = "POST /api/chat?stream=true HTTP/1.1\r\nHost: localhost:11434\r\ncontent-TYPE: application/json\r\n"
            + "Authorization: Bearer tok\r\nx-api-key: k\r\nContent-Length: 2\r\n\r\n";

        var parsed = RequestParse.Run(head, shape).Head;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(parsed.Method, Is.EqualTo(RequestMethod.Post));
            Assert.That(Latin1.Text(parsed.MethodBytes), Is.EqualTo("POST"));
            Assert.That(Latin1.Text(parsed.Target), Is.EqualTo("/api/chat?stream=true"));
            Assert.That(parsed.Version, Is.EqualTo(Http1Version.Http11));
            Assert.That(parsed.WantsClose, Is.False);
            Assert.That(parsed.HostCount, Is.EqualTo(1));
            Assert.That(parsed.AuthorizationCount, Is.EqualTo(1));
            Assert.That(Latin1.Text(parsed.Authorization), Is.EqualTo("Bearer tok"));
            Assert.That(parsed.ApiKeyCount, Is.EqualTo(1));
            Assert.That(Latin1.Text(parsed.ApiKey), Is.EqualTo("k"));
            Assert.That(parsed.HasContentLength, Is.True);
            Assert.That(parsed.ContentLength, Is.EqualTo(2));
            Assert.That(Fields(parsed), Is.EqualTo(new[]
            {
                "Host=localhost:11434|Host",
                "content-TYPE=application/json|ContentType",
                "Authorization=Bearer tok|Authorization",
                "x-api-key=k|XApiKey",
                "Content-Length=2|ContentLength",
            }));
        }
    }

    private static string[] Fields(RequestHead head) =>
        [.. head.Fields.ToArray().Select(f => $"{Latin1.Text(f.Name(head.Bytes))}={Latin1.Text(f.Value(head.Bytes))}|{f.Known}")];

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void PipelinedHeads_ParsedOneAfterAnotherWithNothingCarriedOver(BufferShape shape)
    {
        const string first = "POST /api/chat HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n";
        const string second = "GET /api/tags HTTP/1.1\r\nHost: a\r\n\r\n";
        var reader = new SequenceReader<byte>(shape.Build(first + second));
        var head = new RequestHead();

        Assert.That(RequestHeadParser.TryParse(ref reader, RequestLimits.Default, head), Is.True);
        var firstConsumed = reader.Consumed;
        var firstFacts = (head.Method, head.HasContentLength, head.ExpectsContinue, head.WantsClose);
        Assert.That(RequestHeadParser.TryParse(ref reader, RequestLimits.Default, head), Is.True);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(firstConsumed, Is.EqualTo(first.Length));
            Assert.That(firstFacts, Is.EqualTo((RequestMethod.Post, true, true, true)));
            Assert.That(reader.Consumed, Is.EqualTo(first.Length + second.Length));
            Assert.That((head.Method, head.HasContentLength, head.ExpectsContinue, head.WantsClose), Is.EqualTo((RequestMethod.Get, false, false, false)));
            Assert.That(Latin1.Text(head.Target), Is.EqualTo("/api/tags"));
        }
    }

    // :: Request line

    private static IEnumerable<TestCaseData> Methods() => Cross(
        Case("GET", "GET", RequestMethod.Get),
        Case("HEAD", "HEAD", RequestMethod.Head),
        Case("POST", "POST", RequestMethod.Post),
        Case("PUT", "PUT", RequestMethod.Put),
        Case("DELETE", "DELETE", RequestMethod.Delete),
        Case("OPTIONS", "OPTIONS", RequestMethod.Options),
        Case("PATCH", "PATCH", RequestMethod.Patch),
        Case("CONNECT", "CONNECT", RequestMethod.Connect),
        Case("TRACE", "TRACE", RequestMethod.Trace),
        Case("lower-case get is another method", "get", RequestMethod.Other),
        Case("extension method", "M-SEARCH", RequestMethod.Other),
        Case("token punctuation", "X!#$%&'*+-.^_`|~1", RequestMethod.Other));

    [TestCaseSource(nameof(Methods))]
    public void MethodToken_ParsedCaseSensitivelyWithItsBytesKept(string method, RequestMethod expected, BufferShape shape)
    {
        var head = RequestParse.Run($"{method} /api/tags HTTP/1.1\r\nHost: a\r\n\r\n", shape).Head;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(head.Method, Is.EqualTo(expected));
            Assert.That(Latin1.Text(head.MethodBytes), Is.EqualTo(method));
        }
    }

    /// <summary>The longest registered method, and tokens one byte longer, whole or as the first bytes to arrive.</summary>
    private static IEnumerable<TestCaseData> OverlongMethods() => Cross(
        Case("18 bytes, whole request", "UPDATEREDIRECTREFX /api/tags HTTP/1.1\r\nHost: a\r\n\r\n"),
        Case("18 bytes, nothing after them yet", "AAAAAAAAAAAAAAAAAA"),
        Case("40 bytes, line unfinished", new string('A', 40) + " /api"),
        Case("a line over the request line limit", new string('A', 9000) + " /api/tags HTTP/1.1\r\nHost: a\r\n\r\n"),
        Case("bytes past the limit, line unfinished", new string('A', 9000)),
        Case("after leading empty lines", "\r\n\r\n" + new string('A', 18)),
        Case("token punctuation", "X!#$%&'*+-.^_`|~12"));

    /// <summary>
    /// No method is longer than 17 bytes: 18 without SP are refused as soon as they are in, as a bad method (400),
    /// not as too long a target (414), and without waiting for the line's end.
    /// </summary>
    [TestCaseSource(nameof(OverlongMethods))]
    public void MethodLongerThanAnyRegistered_Rejected400WithoutWaitingForTheLine(string input, BufferShape shape)
    {
        var parse = RequestParse.Run(input, shape);

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.MethodTooLong, 400)), parse.Summary);
    }

    private static IEnumerable<TestCaseData> MethodPrefixesThatMayStillEnd() => Cross(
        Case("17 bytes without SP yet", "UPDATEREDIRECTREF"),
        Case("SP as the 18th byte", "UPDATEREDIRECTREF "),
        Case("a short method and part of a target", "GET /api/tags?x=aaaaaaaaaaaaaaaaaaaa"),
        Case("a byte that is not a token's among the first 18", "AAAAAAAAAAAAAAA\u0001AAAAAAAA"));

    [TestCaseSource(nameof(MethodPrefixesThatMayStillEnd))]
    public void MethodOfRegisteredLength_ReturnsFalseUntilTheHeadIsComplete(string prefix, BufferShape shape)
    {
        Assert.That(RequestParse.Run(prefix, shape).Summary, Is.EqualTo("incomplete consumed=0"));
    }

    /// <summary>A line limit shorter than a method is hit before 18 bytes are in; the result must not depend on how many are.</summary>
    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void LineLimitShorterThanAMethod_LongTokenRejected414(BufferShape shape)
    {
        var parse = RequestParse.Run(new string('A', 30), shape, new RequestLimits { MaxRequestLineSize = 10 });

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.RequestLineTooLong, 414)), parse.Summary);
    }

    private static IEnumerable<TestCaseData> LongNonTokens() => Cross(
        Case("a TLS ClientHello", "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003abcdefghij\r\n\r\n", RequestRejection.InvalidRequestLine),
        Case("a short token, a bare LF, then many", "PAT\n" + new string('\n', 30), RequestRejection.InvalidLineEnding));

    /// <summary>Only a run of token bytes is a method too long: anything else is decided by the whole line, as before.</summary>
    [TestCaseSource(nameof(LongNonTokens))]
    public void LongLineThatIsNoTokenRun_RejectedByTheLineRules(string input, RequestRejection reason, BufferShape shape)
    {
        var parse = RequestParse.Run(input, shape);

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((reason, 400)), parse.Summary);
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void MethodOfTheLongestRegisteredLength_Parsed(BufferShape shape)
    {
        var head = RequestParse.Run("UPDATEREDIRECTREF /api/tags HTTP/1.1\r\nHost: a\r\n\r\n", shape).Head;

        Assert.That((head.Method, Latin1.Text(head.MethodBytes)), Is.EqualTo((RequestMethod.Other, "UPDATEREDIRECTREF")));
    }

    private static IEnumerable<TestCaseData> MalformedRequestLines() => Cross(
        Case("delimiter in method", "G(T /api/tags HTTP/1.1"),
        Case("NUL in method", "GE\0T /api/tags HTTP/1.1"),
        Case("empty method", " /api/tags HTTP/1.1"),
        Case("tab as separator", "GET\t/api/tags\tHTTP/1.1"),
        Case("two spaces after method", "GET  /api/tags HTTP/1.1"),
        Case("two spaces before version", "GET /api/tags  HTTP/1.1"),
        Case("HTTP/0.9 request line", "GET /api/tags"),
        Case("no version after space", "GET /api/tags "),
        Case("extra word", "GET /api/tags HTTP/1.1 extra"),
        Case("trailing space", "GET /api/tags HTTP/1.1 "),
        Case("space in target", "GET /api/a b HTTP/1.1"),
        Case("lower-case version", "GET /api/tags http/1.1"),
        Case("version without minor", "GET /api/tags HTTP/1"),
        Case("version without dot", "GET /api/tags HTTP/11"),
        Case("two-digit minor", "GET /api/tags HTTP/1.10"),
        Case("letter as minor", "GET /api/tags HTTP/1.x"),
        Case("other protocol", "GET /api/tags HTTPS/1.1"),
        Case("only a method", "GET"));

    [TestCaseSource(nameof(MalformedRequestLines))]
    public void MalformedRequestLine_Rejected400(string requestLine, BufferShape shape)
    {
        var parse = RequestParse.Run(requestLine + "\r\nHost: a\r\n\r\n", shape);

        Assert.That((parse.Result, parse.Status), Is.EqualTo((ParseResult.Rejected, 400)), parse.Summary);
    }

    private static IEnumerable<TestCaseData> UnsupportedVersions() => Cross(
        Case("HTTP/2.0", "HTTP/2.0"),
        Case("HTTP/3.0", "HTTP/3.0"),
        Case("HTTP/0.9", "HTTP/0.9"),
        Case("HTTP/1.2", "HTTP/1.2"));

    [TestCaseSource(nameof(UnsupportedVersions))]
    public void WellFormedUnsupportedVersion_Rejected505(string version, BufferShape shape)
    {
        var parse = RequestParse.Run($"GET /api/tags {version}\r\nHost: a\r\n\r\n", shape);

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.HttpVersionNotSupported, 505)), parse.Summary);
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void Http10Request_ParsedAsWantingClose(BufferShape shape)
    {
        var head = RequestParse.Run("GET /api/tags HTTP/1.0\r\nHost: a\r\n\r\n", shape).Head;

        Assert.That((head.Version, head.WantsClose), Is.EqualTo((Http1Version.Http10, true)));
    }

    private static IEnumerable<TestCaseData> TargetsWithForbiddenBytes() => Cross(
        Case("NUL", "/api/a\0b"),
        Case("SOH", "/api/a\u0001b"),
        Case("HTAB", "/api/a\tb"),
        Case("DEL", "/api/a\u007Fb"),
        Case("obs-text", "/api/caf\u00e9"),
        Case("bare CR", "/api/a\rb"));

    [TestCaseSource(nameof(TargetsWithForbiddenBytes))]
    public void TargetWithByteOutsideVisibleAscii_Rejected400(string target, BufferShape shape)
    {
        var parse = RequestParse.Run($"GET {target} HTTP/1.1\r\nHost: a\r\n\r\n", shape);

        Assert.That((parse.Result, parse.Status), Is.EqualTo((ParseResult.Rejected, 400)), parse.Summary);
    }

    // :: Field lines

    private static IEnumerable<TestCaseData> MalformedFieldLines() => Cross(
        Case("obs-fold with SP", Head("X-A: 1", " folded")),
        Case("obs-fold with HTAB", Head("X-A: 1", "\tfolded")),
        Case("whitespace before the first field", "GET /api/tags HTTP/1.1\r\n Host: a\r\n\r\n"),
        Case("space before colon", Head("X-A : 1")),
        Case("tab before colon", Head("X-A\t: 1")),
        Case("empty name", Head(": value")),
        Case("no colon", Head("No colon here")),
        Case("space in name", Head("X A: 1")),
        Case("delimiter in name", Head("X(A): 1")),
        Case("NUL in name", Head("X\0A: 1")),
        Case("NUL in value", Head("X-A: 1\u00002")),
        Case("SOH in value", Head("X-A: 1\u00012")),
        Case("US in value", Head("X-A: 1\u001F2")),
        Case("DEL in value", Head("X-A: 1\u007F2")),
        Case("obs-text in name", Head("X-\u00e9: 1")));

    [TestCaseSource(nameof(MalformedFieldLines))]
    public void MalformedFieldLine_Rejected400(string head, BufferShape shape)
    {
        var parse = RequestParse.Run(head, shape);

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.InvalidHeaderField, 400)), parse.Summary);
    }

    private static IEnumerable<TestCaseData> BareLineEndings() => Cross(
        Case("bare CR in value", Head("X-A: 1\r2")),
        Case("bare CR at line start", Head("\rX-A: 1")),
        Case("bare CR before the empty line", "GET /api/tags HTTP/1.1\r\nHost: a\r\n\r\r\n"),
        Case("bare CR ending the request line", "GET /api/tags HTTP/1.1\rHost: a\r\n\r\n"),
        Case("bare LF ending the request line", "GET /api/tags HTTP/1.1\nHost: a\r\n\r\n"),
        Case("bare LF ending a field line", "GET /api/tags HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n"),
        Case("bare LF as the empty line", "GET /api/tags HTTP/1.1\r\nHost: a\r\n\n\r\n"),
        Case("bare LF everywhere", "GET /api/tags HTTP/1.1\nHost: a\n\n"),
        Case("leading bare LF", "\nGET /api/tags HTTP/1.1\r\nHost: a\r\n\r\n"));

    /// <summary>RFC 9112 §2.2: a bare CR is rejected; the proxy rejects a bare LF too, as Kestrel does, rather than wait.</summary>
    [TestCaseSource(nameof(BareLineEndings))]
    public void BareCarriageReturnOrLineFeed_Rejected400(string head, BufferShape shape)
    {
        var parse = RequestParse.Run(head, shape);

        Assert.That((parse.Result, parse.Status), Is.EqualTo((ParseResult.Rejected, 400)), parse.Summary);
    }

    private static IEnumerable<TestCaseData> FieldValues() => Cross(
        Case("empty value", "X-Empty:", "X-Empty", ""),
        Case("only whitespace", "X-Empty: \t ", "X-Empty", ""),
        Case("no whitespace after colon", "X-A:v", "X-A", "v"),
        Case("OWS trimmed, inner whitespace kept", "X-A: \t a \t b \t ", "X-A", "a \t b"),
        Case("colons in value", "X-Url: http://a:1/b", "X-Url", "http://a:1/b"),
        Case("obs-text in value", "X-Name: caf\u00e9 \u00ff", "X-Name", "caf\u00e9 \u00ff"),
        Case("quotes and commas", "X-List: \"a, b\", c", "X-List", "\"a, b\", c"));

    [TestCaseSource(nameof(FieldValues))]
    public void FieldValue_ParsedWithOptionalWhitespaceTrimmed(string line, string name, string value, BufferShape shape)
    {
        var head = RequestParse.Run(Head(line), shape).Head;
        var field = head.Fields[1];

        using (Assert.EnterMultipleScope())
        {
            Assert.That(head.Fields.Length, Is.EqualTo(2));
            Assert.That(Latin1.Text(field.Name(head.Bytes)), Is.EqualTo(name));
            Assert.That(Latin1.Text(field.Value(head.Bytes)), Is.EqualTo(value));
        }
    }

    private static IEnumerable<TestCaseData> KnownFieldNames() => Cross(
        Case("lower case", "content-length: 0", KnownField.ContentLength),
        Case("upper case", "TRANSFER-ENCODING: chunked", KnownField.TransferEncoding),
        Case("mixed case", "X-Api-Key: k", KnownField.XApiKey),
        Case("TE", "te: trailers", KnownField.TE),
        Case("Trailer", "Trailer: X", KnownField.Trailer),
        Case("Upgrade", "Upgrade: h2c", KnownField.Upgrade),
        Case("Keep-Alive", "Keep-Alive: timeout=5", KnownField.KeepAlive),
        Case("Proxy-Connection", "Proxy-Connection: keep-alive", KnownField.ProxyConnection),
        Case("Proxy-Authorization", "Proxy-Authorization: Basic x", KnownField.ProxyAuthorization),
        Case("Content-Type", "CONTENT-type: text/plain", KnownField.ContentType),
        Case("Date", "date: Sun, 06 Nov 1994 08:49:37 GMT", KnownField.Date),
        Case("a prefix of a known name", "Hos: a", KnownField.Other),
        Case("a known name with a suffix", "Expects: x", KnownField.Other));

    [TestCaseSource(nameof(KnownFieldNames))]
    public void FieldName_RecognizedCaseInsensitively(string line, KnownField expected, BufferShape shape)
    {
        var head = RequestParse.Run(Head(line), shape).Head;

        Assert.That(head.Fields[1].Known, Is.EqualTo(expected));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void ConnectionOptions_NameFieldsAsHopByHop(BufferShape shape)
    {
        var head = RequestParse.Run(Head("Connection: keep-alive, X-Trace", "connection: Close", "X-Trace: 1"), shape).Head;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(head.WantsClose, Is.True);
            Assert.That(head.HasConnectionOptions, Is.True);
            Assert.That(head.IsNamedByConnection("x-trace"u8), Is.True);
            Assert.That(head.IsNamedByConnection("X-Other"u8), Is.False);
        }
    }

    // :: Host (RFC 9112 §3.2)

    private static IEnumerable<TestCaseData> HostViolations() => Cross(
        Case("HTTP/1.1 without Host", "GET /api/tags HTTP/1.1\r\nAccept: */*\r\n\r\n"),
        Case("two Host fields", "GET /api/tags HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
        Case("two Host fields differing in case", "GET /api/tags HTTP/1.1\r\nHost: a\r\nHOST: b\r\n\r\n"),
        Case("two Host fields on HTTP/1.0", "GET /api/tags HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
        Case("a list of two authorities", "GET /api/tags HTTP/1.1\r\nHost: a.test, b.test\r\n\r\n"),
        Case("a list without space", "GET /api/tags HTTP/1.1\r\nHost: a.test,b.test\r\n\r\n"),
        Case("a space inside", "GET /api/tags HTTP/1.1\r\nHost: a .test\r\n\r\n"),
        Case("a path", "GET /api/tags HTTP/1.1\r\nHost: a.test/x\r\n\r\n"),
        Case("userinfo", "GET /api/tags HTTP/1.1\r\nHost: user@a.test\r\n\r\n"),
        Case("a query", "GET /api/tags HTTP/1.1\r\nHost: a.test?x\r\n\r\n"),
        Case("a fragment", "GET /api/tags HTTP/1.1\r\nHost: a.test#x\r\n\r\n"),
        Case("an invalid Host on HTTP/1.0", "GET /api/tags HTTP/1.0\r\nHost: a.test, b.test\r\n\r\n"),
        Case("empty Host with an origin-form target", "GET /api/tags HTTP/1.1\r\nHost:\r\n\r\n"),
        Case("Host of only whitespace with an origin-form target", "GET / HTTP/1.1\r\nHost: \t \r\n\r\n"),
        Case("empty Host on HTTP/1.0 with an origin-form target", "POST /api/chat HTTP/1.0\r\nHost:\r\n\r\n"));

    [TestCaseSource(nameof(HostViolations))]
    public void MissingRepeatedInvalidOrEmptyHost_Rejected400(string head, BufferShape shape)
    {
        var parse = RequestParse.Run(head, shape);

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.MissingOrDuplicateHost, 400)), parse.Summary);
    }

    private static IEnumerable<TestCaseData> HostAccepted() => Cross(
        Case("HTTP/1.0 without Host", "GET /api/tags HTTP/1.0\r\n\r\n", 0),
        Case("empty Host with an absolute-form target", "GET http://a.test/api/tags HTTP/1.1\r\nHost:\r\n\r\n", 1),
        Case("empty Host with OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost:\r\n\r\n", 1),
        Case("Host with port", "GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1:11434\r\n\r\n", 1),
        Case("Host in lower case", "GET /api/tags HTTP/1.1\r\nhost: a\r\n\r\n", 1),
        Case("IPv6 literal with port", "GET /api/tags HTTP/1.1\r\nHost: [::1]:11434\r\n\r\n", 1),
        Case("OWS around the value", "GET /api/tags HTTP/1.1\r\nHost: \t a.test \t\r\n\r\n", 1));

    [TestCaseSource(nameof(HostAccepted))]
    public void ValidHost_Parsed(string head, int hostCount, BufferShape shape)
    {
        Assert.That(RequestParse.Run(head, shape).Head.HostCount, Is.EqualTo(hostCount));
    }

    // :: Content-Type (RFC 9110 §5.3, §8.3)

    private static IEnumerable<TestCaseData> ConflictingContentTypes() => Cross(
        Case("two media types", Head("Content-Type: application/json", "Content-Type: text/plain")),
        Case("same type, other parameter", Head("Content-Type: application/json", "Content-Type: application/json; charset=utf-16")),
        Case("differing only in case", Head("Content-Type: application/json", "content-type: Application/JSON")),
        Case("one of them empty", Head("Content-Type: application/json", "Content-Type:")),
        Case("apart, a field between", Head("Content-Type: a/b", "X-A: 1", "Content-Type: c/d")),
        Case("the third differs", Head("Content-Type: a/b", "Content-Type: a/b", "Content-Type: c/d")));

    /// <summary>Recipients differ on which of two values they use, so the upstream could see another type than a filter did.</summary>
    [TestCaseSource(nameof(ConflictingContentTypes))]
    public void ContentTypeFieldsWithDifferentValues_Rejected400(string head, BufferShape shape)
    {
        var parse = RequestParse.Run(head, shape);

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.ConflictingContentType, 400)), parse.Summary);
    }

    private static IEnumerable<TestCaseData> AcceptedContentTypes() => Cross(
        Case("one field", Head("Content-Type: application/json"), 1),
        Case("an identical repeat", Head("Content-Type: application/json", "content-type: application/json"), 2),
        Case("a repeat differing only in OWS", Head("Content-Type: a/b", "Content-Type:\ta/b "), 2));

    [TestCaseSource(nameof(AcceptedContentTypes))]
    public void ContentTypeFieldsWithOneValue_ParsedAndKept(string head, int fields, BufferShape shape)
    {
        var parsed = RequestParse.Run(head, shape).Head;

        Assert.That(parsed.Fields.ToArray().Count(field => field.Known == KnownField.ContentType), Is.EqualTo(fields));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void ContentTypeOfAnEarlierRequest_NotComparedWithTheNext(BufferShape shape)
    {
        const string first = "POST /api/chat HTTP/1.1\r\nHost: a\r\nContent-Type: a/b\r\n\r\n";
        const string second = "POST /api/chat HTTP/1.1\r\nHost: a\r\nContent-Type: c/d\r\n\r\n";
        var reader = new SequenceReader<byte>(shape.Build(first + second));
        var head = new RequestHead();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(RequestHeadParser.TryParse(ref reader, RequestLimits.Default, head), Is.True);
            Assert.That(RequestHeadParser.TryParse(ref reader, RequestLimits.Default, head), Is.True);
        }
    }

    // :: Expect (RFC 9110 §10.1.1)

    private static IEnumerable<TestCaseData> Expectations() => Cross(
        Case("100-continue", "HTTP/1.1", "100-continue", true),
        Case("case-insensitive", "HTTP/1.1", "100-Continue", true),
        Case("HTTP/1.0 cannot use it", "HTTP/1.0", "100-continue", false));

    [TestCaseSource(nameof(Expectations))]
    public void ExpectContinue_Parsed(string version, string value, bool expectsContinue, BufferShape shape)
    {
        var head = RequestParse.Run($"POST /api/chat {version}\r\nHost: a\r\nExpect: {value}\r\nContent-Length: 1\r\n\r\n", shape).Head;

        Assert.That(head.ExpectsContinue, Is.EqualTo(expectsContinue));
    }

    private static IEnumerable<TestCaseData> UnsupportedExpectations() => Cross(
        Case("other expectation", "200-ok"),
        Case("empty", ""),
        Case("with parameter", "100-continue; x=1"));

    [TestCaseSource(nameof(UnsupportedExpectations))]
    public void ExpectOtherThanContinue_Rejected417(string value, BufferShape shape)
    {
        var parse = RequestParse.Run(Head($"Expect: {value}"), shape);

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.UnsupportedExpectation, 417)), parse.Summary);
    }

    // :: Leading empty lines (RFC 9112 §2.2)

    private static IEnumerable<TestCaseData> LeadingEmptyLines() => Cross(
        Case("one", 1),
        Case("three", 3),
        Case("as many as the request line limit allows", 4096));

    [TestCaseSource(nameof(LeadingEmptyLines))]
    public void LeadingEmptyLines_SkippedAndConsumed(int count, BufferShape shape)
    {
        var leading = string.Concat(Enumerable.Repeat("\r\n", count));
        var parse = RequestParse.Run(leading + Head(), shape);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(parse.Consumed, Is.EqualTo(leading.Length + Head().Length), parse.Summary);
            Assert.That(Latin1.Text(parse.Head.Bytes), Is.EqualTo(Head()));
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void MoreLeadingEmptyLinesThanTheRequestLineLimit_Rejected400(BufferShape shape)
    {
        var leading = string.Concat(Enumerable.Repeat("\r\n", 4097));

        var parse = RequestParse.Run(leading + Head(), shape);

        Assert.That((parse.Reason, parse.Status), Is.EqualTo((RequestRejection.InvalidRequestLine, 400)), parse.Summary);
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void OnlyEmptyLines_ReturnsFalseAndConsumesNothing(BufferShape shape)
    {
        Assert.That(RequestParse.Run("\r\n\r\n\r\n", shape).Summary, Is.EqualTo("incomplete consumed=0"));
    }
}
