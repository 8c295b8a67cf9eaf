using System.Buffers;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>
/// The responses the proxy writes itself, byte for byte, and readable by its own response parser
/// (docs/BEHAVIOUR.md#routing, #authentication and #errors).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class LocalResponseTests
{
    private const string DateLine = "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n";

    private static readonly byte[] s_date = Latin1.Bytes(DateLine);

    [Test]
    public void Unauthorized_JsonErrorWithDateBearerChallengeAndClose()
    {
        var output = new ArrayBufferWriter<byte>();

        LocalResponse.WriteRejection(output, RequestRejection.Unauthorized, s_date);

        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo(
            "HTTP/1.1 401 Unauthorized\r\n"
            + DateLine
            + "Content-Type: application/json; charset=utf-8\r\n"
            + "Content-Length: 24\r\n"
            + "WWW-Authenticate: Bearer\r\n"
            + "Connection: close\r\n"
            + "\r\n"
            + "{\"error\":\"unauthorized\"}"));
    }

    [Test]
    public void MethodNotAllowed_405WithAllowListingTheServedMethods()
    {
        var output = new ArrayBufferWriter<byte>();

        LocalResponse.WriteRejection(output, RequestRejection.MethodNotAllowed, s_date);

        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo(
            "HTTP/1.1 405 Method Not Allowed\r\n"
            + DateLine
            + "Content-Type: application/json; charset=utf-8\r\n"
            + "Content-Length: 30\r\n"
            + "Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n"
            + "Connection: close\r\n"
            + "\r\n"
            + "{\"error\":\"method not allowed\"}"));
    }

    [Test]
    public void MethodNotImplemented_501WithAllowListingTheServedMethods()
    {
        var output = new ArrayBufferWriter<byte>();

        LocalResponse.WriteRejection(output, RequestRejection.MethodNotImplemented, s_date);

        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo(
            "HTTP/1.1 501 Not Implemented\r\n"
            + DateLine
            + "Content-Type: application/json; charset=utf-8\r\n"
            + "Content-Length: 34\r\n"
            + "Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n"
            + "Connection: close\r\n"
            + "\r\n"
            + "{\"error\":\"method not implemented\"}"));
    }

    [TestCase(RequestRejection.UnsupportedTransferCoding)]
    [TestCase(RequestRejection.MethodTooLong)]
    [TestCase(RequestRejection.InvalidRequestTarget)]
    [TestCase(RequestRejection.TooManyConnections)]
    public void OtherRejection_HasNeitherAllowNorChallenge(RequestRejection reason)
    {
        var output = new ArrayBufferWriter<byte>();

        LocalResponse.WriteRejection(output, reason, s_date);

        Assert.That(Latin1.Text(output.WrittenSpan), Does.Not.Contain("Allow:").And.Not.Contain("WWW-Authenticate:"));
    }

    [Test]
    public void ErrorTextWithQuoteOrControl_NeverBreaksTheJson()
    {
        var output = new ArrayBufferWriter<byte>();

        LocalResponse.WriteError(output, 502, "a\"b\\c\nd\u00e9", s_date, close: false);

        Assert.That(Latin1.Text(output.WrittenSpan), Does.EndWith("Content-Length: 20\r\n\r\n{\"error\":\"a?b?c?d?\"}"));
    }

    [Test]
    public void HealthAnswerToHead_SameHeadWithoutTheBody()
    {
        var output = new ArrayBufferWriter<byte>();

        LocalResponse.WriteLocalAnswer(output, LocalAnswer.Health, s_date, close: false, headOnly: true);

        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo(
            "HTTP/1.1 200 OK\r\n" + DateLine + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 17\r\n\r\n"));
    }

    [Test]
    public void HealthAnswer_OllamaIsRunning()
    {
        var output = new ArrayBufferWriter<byte>();

        LocalResponse.WriteLocalAnswer(output, LocalAnswer.Health, s_date, close: true, headOnly: false);

        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo(
            "HTTP/1.1 200 OK\r\n" + DateLine + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 17\r\nConnection: close\r\n\r\nOllama is running"));
    }

    [Test]
    public void OptionsAnswer_200WithAllowAndNoContent()
    {
        var output = new ArrayBufferWriter<byte>();

        LocalResponse.WriteLocalAnswer(output, LocalAnswer.Options, s_date, close: false, headOnly: false);

        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo(
            "HTTP/1.1 200 OK\r\n" + DateLine + "Content-Length: 0\r\nAllow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n\r\n"));
    }

    [TestCase(400)]
    [TestCase(405)]
    [TestCase(408)]
    [TestCase(413)]
    [TestCase(414)]
    [TestCase(417)]
    [TestCase(431)]
    [TestCase(501)]
    [TestCase(502)]
    [TestCase(503)]
    [TestCase(504)]
    [TestCase(505)]
    public void EveryErrorStatus_ParsesAsAValidResponseWithItsLengthAndDate(int status)
    {
        var output = new ArrayBufferWriter<byte>();
        LocalResponse.WriteError(output, status, "error text", s_date, close: true);

        var parse = ResponseParse.Run(new ReadOnlySequence<byte>(output.WrittenMemory));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(parse.Head.StatusCode, Is.EqualTo(status));
            Assert.That(parse.Head.HasDate, Is.True);
            Assert.That(parse.Framing(RequestMethod.Get), Is.EqualTo("ContentLength:22"));
            Assert.That(output.WrittenCount - parse.Consumed, Is.EqualTo(22));
        }
    }
}
