using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Timeouts;

/// <summary>
/// A request body that arrives slower than <c>PROXY_MIN_REQUEST_BODY_RATE</c> after
/// <c>PROXY_MIN_REQUEST_BODY_RATE_GRACE</c> (slowloris on the body, Kestrel's MinRequestBodyDataRate) is cut with 408
/// and its upstream request aborted, never completed; a body that keeps the rate is never cut, however long it takes
/// (docs/BEHAVIOUR.md#limits-and-timeouts).
/// Bodies above 64 KiB or chunked, because smaller ones are held whole before anything goes upstream. Each step waits
/// until the bytes reached the upstream, then fake time passes on an <see cref="ObservedClock"/>.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestBodyRateTests
{
    private const int BytesPerSecond = 1000;
    private const int MaxSeconds = 30;

    private static readonly Dictionary<string, string?> Rate = new()
    {
        ["PROXY_MIN_REQUEST_BODY_RATE"] = BytesPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["PROXY_MIN_REQUEST_BODY_RATE_GRACE"] = "5",

        // Far shorter than the upload: they belong to other phases and must not cut it.
        ["PROXY_REQUEST_HEAD_TIMEOUT"] = "2",
        ["PROXY_KEEPALIVE_TIMEOUT"] = "3",
    };

    [TestCase(BodyShape.ContentLength)]
    [TestCase(BodyShape.Chunked)]
    public async Task BodyTricklingBelowTheMinimumRate_Gets408AndTheUpstreamRequestIsAborted(BodyShape shape)
    {
        var clock = new ObservedClock();
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), Rate, timeProvider: clock);
        var client = await proxy.ConnectAsync();
        var upload = new Upload(shape, totalBytes: 200_000);

        // A tenth of the minimum rate, one piece per fake second.
        var piece = upload.Piece(BytesPerSecond / 10);
        await client.SendAsync(upload.Head(proxy) + piece);
        var upstream = await proxy.Origin.WaitForConnectionAsync(1);
        long forwarded = piece.Length;
        Assert.That(await proxy.Origin.WaitForBodyBytesAsync(upstream, forwarded), Is.True, "The first piece never reached the upstream.");

        var seconds = 0;
        while (!upstream.ClosedByProxy.IsCompleted && seconds < MaxSeconds)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            seconds++;
            piece = upload.Piece(BytesPerSecond / 10);
            await client.SendAsync(piece);
            forwarded += piece.Length;
            await proxy.Origin.WaitForBodyBytesAsync(upstream, forwarded);
        }

        var response = await client.ReadResponseAsync("POST");

        ProxyAssert.IsJsonError(response, 408);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        await client.DisposeAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(seconds, Is.InRange(5, 8), "Cut before the grace period ended, or long after the rate was missed.");
            Assert.That(upstream.ResetByProxy, Is.True, "The upstream connection was closed, not aborted.");
            Assert.That(proxy.Origin.Requests, Is.Empty, "The upstream received a complete request although its body was cut.");
        }
    }

    [TestCase(BodyShape.ContentLength)]
    [TestCase(BodyShape.Chunked)]
    public async Task BodyKeepingTheMinimumRateForMinutes_IsNeverCut(BodyShape shape)
    {
        const int seconds = 120;
        const int perSecond = BytesPerSecond * 3 / 2;
        var clock = new ObservedClock();
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls(), Rate, timeProvider: clock);
        var client = await proxy.ConnectAsync();
        var upload = new Upload(shape, totalBytes: seconds * perSecond);

        var piece = upload.Piece(perSecond);
        await client.SendAsync(upload.Head(proxy) + piece);
        var upstream = await proxy.Origin.WaitForConnectionAsync(1);
        long forwarded = piece.Length;
        for (var second = 1; second < seconds; second++)
        {
            Assert.That(await proxy.Origin.WaitForBodyBytesAsync(upstream, forwarded), Is.True, $"The proxy cut the upload after {second} fake second(s).");
            clock.Advance(TimeSpan.FromSeconds(1));
            piece = upload.Piece(perSecond);
            await client.SendAsync(piece);
            forwarded += piece.Length;
        }

        await client.SendAsync(upload.End());
        var response = await client.ReadResponseAsync("POST");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var received = proxy.Origin.Requests.Single();
        Assert.That(received.Body, Has.Length.EqualTo(seconds * perSecond));
    }

    public enum BodyShape
    {
        ContentLength,
        Chunked,
    }

    /// <summary>A body sent in pieces, as Content-Length bytes or one chunk per piece.</summary>
    private sealed class Upload(BodyShape shape, int totalBytes)
    {
        private int sent;

        public string Head(ProxyHarness proxy) =>
            $"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Type: application/json\r\n"
            + (shape == BodyShape.Chunked ? "Transfer-Encoding: chunked\r\n\r\n" : $"Content-Length: {totalBytes}\r\n\r\n");

        public string Piece(int bytes)
        {
            var data = new string((char)('a' + (sent / bytes % 26)), bytes);
            sent += bytes;
            Assert.That(sent, Is.LessThanOrEqualTo(totalBytes), "The test sends more than its body.");
            return shape == BodyShape.Chunked ? $"{bytes:x}\r\n{data}\r\n" : data;
        }

        public string End() => shape == BodyShape.Chunked ? "0\r\n\r\n" : "";
    }
}
