using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>
/// The responses the proxy writes itself, byte for byte, and readable by its own response parser
/// (docs/BEHAVIOUR.md#routing, #authentication and #errors).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class LocalResponseTests
{
    [Test]
    public void Unauthorized_JsonErrorWithBearerChallengeAndClose()
    {
        var output = new ArrayBufferWriter<byte>();

        LocalResponse.WriteError(output, 401, "unauthorized", close: true);

        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo(
            "HTTP/1.1 401 Unauthorized\r\n"
            + "Content-Type: application/json; charset=utf-8\r\n"
            + "Content-Length: 24\r\n"
            + "WWW-Authenticate: Bearer\r\n"
            + "Connection: close\r\n"
            + "\r\n"
            + "{\"error\":\"unauthorized\"}"));
    }

    [Test]
    public void ErrorTextWithQuoteOrControl_NeverBreaksTheJson()
    {
        var output = new ArrayBufferWriter<byte>();

        LocalResponse.WriteError(output, 502, "a\"b\\c\nd\u00e9", close: false);

        Assert.That(Latin1.Text(output.WrittenSpan), Does.EndWith("Content-Length: 20\r\n\r\n{\"error\":\"a?b?c?d?\"}"));
    }

    [Test]
    public void HeadOnly_SameHeadWithoutTheBody()
    {
        var output = new ArrayBufferWriter<byte>();

        LocalResponse.Write(output, 200, "text/plain"u8, "Ollama is running"u8, close: false, headOnly: true);

        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n\r\n"));
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
    public void EveryErrorStatus_ParsesAsAValidResponseWithItsLength(int status)
    {
        var output = new ArrayBufferWriter<byte>();
        LocalResponse.WriteError(output, status, "error text", close: true);

        var parse = ResponseParse.Run(new ReadOnlySequence<byte>(output.WrittenMemory));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(parse.Head.StatusCode, Is.EqualTo(status));
            Assert.That(parse.Framing(RequestMethod.Get), Is.EqualTo("ContentLength:22"));
            Assert.That(output.WrittenCount - parse.Consumed, Is.EqualTo(22));
        }
    }
}
