using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

namespace OllamaSocketProxy.Tests.Listener.Logging;

/// <summary>
/// One access-log line per request (docs/BEHAVIOUR.md#operations): client, method, the forwarded path without its
/// query (the client's path for the proxy's own answers), status, bytes, time to first byte and total time. Through the
/// proxy, and <see cref="AccessLogEntry"/> alone on a fake clock.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class AccessLogTests
{
    [Test]
    public async Task EachRequest_IsAccessLoggedWithClientMethodMappedPathAndStatus()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(proxy.Get("/tags"));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        await proxy.Logs.WaitForLineAsync(line =>
            line.Contains("127.0.0.1", StringComparison.Ordinal) && line.Contains("GET", StringComparison.Ordinal)
            && line.Contains("/api/tags", StringComparison.Ordinal) && line.Contains("200", StringComparison.Ordinal));
    }

    /// <summary>A query may carry values that do not belong in a log.</summary>
    [TestCase("GET /tags?key=secret-value HTTP/1.1", "\"GET /api/tags\"")]
    [TestCase("POST /api/api/chat?x=secret-value HTTP/1.1", "\"POST /api/chat\"")]
    [TestCase("POST /?x=secret-value HTTP/1.1", "\"POST /api/\"")]
    [TestCase("GET /v1/models?secret-value HTTP/1.1", "\"GET /v1/models\"")]
    public void ForwardedRequest_LogsTheForwardedPathWithoutTheQuery(string requestLine, string expected)
    {
        var (line, _) = LogOne(requestLine);

        Assert.That(line, Does.Contain(expected).And.Not.Contain("secret-value"));
    }

    [TestCase("GET /?x=secret-value HTTP/1.1", "\"GET /\"")]
    [TestCase("HEAD / HTTP/1.1", "\"HEAD /\"")]
    public void HealthCheck_LogsTheClientsPath(string requestLine, string expected)
    {
        var (line, _) = LogOne(requestLine);

        Assert.That(line, Does.Contain(expected).And.Not.Contain("secret-value"));
    }

    [Test]
    public void StatusBytesAndTimes_FromTheRequestsFirstByte()
    {
        var (line, _) = LogOne("GET /api/tags HTTP/1.1", untilFirstByte: TimeSpan.FromSeconds(1.5), thenUntilTheEnd: TimeSpan.FromSeconds(0.5), bytesOut: 1234);

        Assert.That(line, Does.EndWith("127.0.0.1:5000 \"GET /api/tags\" 200 1234 ttfb=1500.0ms total=2000.0ms client=- model=- key=-"));
    }

    /// <summary>A request refused before its head was parsed: what was not known is <c>-</c>, and no response head timed.</summary>
    [Test]
    public void NothingCaptured_DashesAndNoTimeToFirstByte()
    {
        var clock = new FakeTimeProvider();
        var entry = new AccessLogEntry();
        entry.Reset(clock.GetTimestamp());
        entry.Status = 400;
        clock.Advance(TimeSpan.FromMilliseconds(3));

        var line = Write(entry, clock);

        Assert.That(line, Does.EndWith("127.0.0.1:5000 \"- -\" 400 0 ttfb=0.0ms total=3.0ms client=- model=- key=-"));
    }

    [Test]
    public void Reset_ForgetsThePreviousRequest()
    {
        var (_, entry) = LogOne("POST /api/chat HTTP/1.1", bytesOut: 99);
        var clock = new FakeTimeProvider();

        entry.Reset(clock.GetTimestamp());
        var line = Write(entry, clock);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(entry.Status, Is.Zero);
            Assert.That(entry.BytesOut, Is.Zero);
            Assert.That(entry.FirstByte, Is.Zero);
            Assert.That(line, Does.EndWith("\"- -\" 0 0 ttfb=0.0ms total=0.0ms client=- model=- key=-"));
        }
    }

    /// <summary>One request's entry as the connection fills it: reset at the first byte, head captured, head sent, logged.</summary>
    private static (string Line, AccessLogEntry Entry) LogOne(
        string requestLine, TimeSpan untilFirstByte = default, TimeSpan thenUntilTheEnd = default, long bytesOut = 0)
    {
        var clock = new FakeTimeProvider();
        var head = RequestParse.Run($"{requestLine}\r\nHost: x\r\n\r\n", OneSegment).Head;
        var entry = new AccessLogEntry();
        entry.Reset(clock.GetTimestamp());
        entry.Capture(head, RequestTarget.Map(head.Target));
        clock.Advance(untilFirstByte);
        entry.MarkFirstByte(clock, 200);
        entry.BytesOut = bytesOut;
        clock.Advance(thenUntilTheEnd);
        return (Write(entry, clock), entry);
    }

    private static string Write(AccessLogEntry entry, TimeProvider clock)
    {
        var logs = new RecordingLoggerProvider();
        using (var factory = LoggerFactory.Create(builder => builder.AddProvider(logs)))
        {
            entry.Write(factory.CreateLogger("OllamaSocketProxy.Access"), "127.0.0.1:5000", clock, client: null, model: null, key: null);
        }

        return logs.Lines.Single();
    }
}
