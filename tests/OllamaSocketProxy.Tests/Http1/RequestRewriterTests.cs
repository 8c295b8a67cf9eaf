using System.Buffers;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>The head the upstream receives, byte for byte (docs/BEHAVIOUR.md#forwarded-request).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestRewriterTests
{
    private static readonly RequestRewriter s_rewriter = new("ollama.com");
    private static readonly byte[] s_authorization = RequestRewriter.AuthorizationLine("sk-upstream-key");

    private static string Rewrite(string clientHead, BufferShape shape, string forwardedFor = "")
    {
        var head = RequestParse.Run(clientHead, shape).Head;
        var output = new ArrayBufferWriter<byte>();

        s_rewriter.WriteHead(output, head, RequestTarget.Map(head.Target), BodyFraming.ForRequest(head), s_authorization, Latin1.Bytes(forwardedFor));

        return Latin1.Text(output.WrittenSpan);
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void PlainRequest_RewritesLineHostAndAuthorizationAndAddsVia(BufferShape shape)
    {
        var forwarded = Rewrite("GET /tags HTTP/1.1\r\nHost: localhost:11434\r\nAuthorization: Bearer client-token\r\nAccept: */*\r\n\r\n", shape);

        Assert.That(forwarded, Is.EqualTo(
            "GET /api/tags HTTP/1.1\r\n"
            + "Host: ollama.com\r\n"
            + "Authorization: Bearer sk-upstream-key\r\n"
            + "Accept: */*\r\n"
            + "Via: 1.1 ollama-socket-proxy\r\n"
            + "\r\n"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void EveryHopByHopAndCredentialField_DroppedAndTheRestKeptInOrder(BufferShape shape)
    {
        var forwarded = Rewrite(
            "POST /api/api/chat?stream=true HTTP/1.1\r\n"
            + "User-Agent: ollama/0.5\r\n"
            + "Host: localhost:11434\r\n"
            + "authorization: Bearer client-token\r\n"
            + "x-api-key: client-token\r\n"
            + "Connection: keep-alive, X-Secret, x-other\r\n"
            + "X-Secret: s\r\n"
            + "Content-Type: application/json\r\n"
            + "Keep-Alive: timeout=5\r\n"
            + "Proxy-Connection: keep-alive\r\n"
            + "TE: trailers\r\n"
            + "Trailer: X-T\r\n"
            + "Upgrade: h2c\r\n"
            + "Proxy-Authorization: Basic eDp5\r\n"
            + "Expect: 100-continue\r\n"
            + "X-OTHER: o\r\n"
            + "Content-Length: 13\r\n"
            + "Accept:  application/x-ndjson\r\n"
            + "X-Empty:\r\n"
            + "\r\n",
            shape);

        Assert.That(forwarded, Is.EqualTo(
            "POST /api/chat?stream=true HTTP/1.1\r\n"
            + "Host: ollama.com\r\n"
            + "Authorization: Bearer sk-upstream-key\r\n"
            + "User-Agent: ollama/0.5\r\n"
            + "Content-Type: application/json\r\n"
            + "Accept:  application/x-ndjson\r\n"
            + "X-Empty:\r\n"
            + "Via: 1.1 ollama-socket-proxy\r\n"
            + "Content-Length: 13\r\n"
            + "\r\n"));
    }

    private static IEnumerable<TestCaseData> Framings() => Cross(
        Case("identical Content-Length list", "Content-Length: 5, 5", "Content-Length: 5\r\n"),
        Case("identical Content-Length fields", "Content-Length: 5\r\nContent-Length: 005", "Content-Length: 5\r\n"),
        Case("Content-Length with OWS", "Content-Length:   7  ", "Content-Length: 7\r\n"),
        Case("Content-Length 0", "Content-Length: 0", "Content-Length: 0\r\n"),
        Case("chunked", "Transfer-Encoding: Chunked", "Transfer-Encoding: chunked\r\n"),
        Case("no body", "X-None: 1", ""));

    /// <summary>The framing is the proxy's own line, written from the decision, not copied from the client.</summary>
    [TestCaseSource(nameof(Framings))]
    public void BodyFraming_WrittenNormalizedAfterVia(string clientField, string forwardedField, BufferShape shape)
    {
        var forwarded = Rewrite($"POST /api/generate HTTP/1.1\r\nHost: a\r\n{clientField}\r\n\r\n", shape);

        var expectedOther = clientField.StartsWith("X-None", StringComparison.Ordinal) ? "X-None: 1\r\n" : "";
        Assert.That(forwarded, Is.EqualTo(
            "POST /api/generate HTTP/1.1\r\nHost: ollama.com\r\nAuthorization: Bearer sk-upstream-key\r\n"
            + expectedOther + "Via: 1.1 ollama-socket-proxy\r\n" + forwardedField + "\r\n"));
    }

    private static IEnumerable<TestCaseData> Targets() => Cross(
        Case("/v1 kept", "/v1/chat/completions?x=1", "/v1/chat/completions?x=1"),
        Case("absolute-form", "http://evil.test/api/tags", "/api/tags"),
        Case("root, not GET or HEAD", "/?q", "/api/?q"));

    [TestCaseSource(nameof(Targets))]
    public void Target_ForwardedAsMapped(string target, string forwardedTarget, BufferShape shape)
    {
        var forwarded = Rewrite($"DELETE {target} HTTP/1.1\r\nHost: a\r\n\r\n", shape);

        Assert.That(forwarded, Does.StartWith($"DELETE {forwardedTarget} HTTP/1.1\r\nHost: ollama.com\r\n"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void Http10Client_ForwardedAsHttp11(BufferShape shape)
    {
        var forwarded = Rewrite("GET /api/tags HTTP/1.0\r\nUser-Agent: old\r\n\r\n", shape);

        Assert.That(forwarded, Is.EqualTo(
            "GET /api/tags HTTP/1.1\r\nHost: ollama.com\r\nAuthorization: Bearer sk-upstream-key\r\nUser-Agent: old\r\n"
            + "Via: 1.1 ollama-socket-proxy\r\n\r\n"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void ForwardedForConfigured_AddedAfterVia(BufferShape shape)
    {
        var forwarded = Rewrite("GET /api/tags HTTP/1.1\r\nHost: a\r\n\r\n", shape, forwardedFor: "192.0.2.7");

        Assert.That(forwarded, Does.EndWith("Via: 1.1 ollama-socket-proxy\r\nX-Forwarded-For: 192.0.2.7\r\n\r\n"));
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public void ClientCredentials_NeverForwarded(BufferShape shape)
    {
        var forwarded = Rewrite(
            "POST /api/chat HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer client-token\r\nX-Api-Key: client-token\r\n"
            + "Proxy-Authorization: Bearer client-token\r\nConnection: X-Carrier\r\nX-Carrier: client-token\r\n\r\n",
            shape);

        Assert.That(forwarded, Does.Not.Contain("client-token"));
    }
}
