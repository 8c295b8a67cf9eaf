using System.Buffers;
using OllamaSocketProxy.Http1;

using OllamaSocketProxy.Tests.Infrastructure;

using ResponseHead = OllamaSocketProxy.Http1.ResponseHead;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>A parsed head's bytes: the pipe's own memory, or a copy that outlives it.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class MessageHeadTests
{
    private const string Head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n";

    [Test]
    public void KeepBytes_HeadStaysIntactWhenTheBufferItCameInIsReused()
    {
        var buffer = Latin1.Bytes(Head + "{}");
        var head = Parse(buffer);

        head.KeepBytes();
        Array.Fill(buffer, (byte)'x');

        Assert.That(Latin1.Text(head.Bytes), Is.EqualTo(Head));
        Assert.That(Latin1.Text(head.StatusLine), Is.EqualTo("HTTP/1.1 200 OK"));
        head.Reset();
    }

    [Test]
    public void WithoutKeepBytes_HeadIsTheBufferItself()
    {
        // What KeepBytes guards against: a contiguous head is not copied when parsed.
        var buffer = Latin1.Bytes(Head);
        var head = Parse(buffer);

        Array.Fill(buffer, (byte)'x');

        Assert.That(Latin1.Text(head.StatusLine), Is.EqualTo(new string('x', "HTTP/1.1 200 OK".Length)));
    }

    private static ResponseHead Parse(byte[] buffer)
    {
        var head = new ResponseHead();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(buffer));
        Assert.That(ResponseHeadParser.TryParse(ref reader, head), Is.True);
        return head;
    }
}
