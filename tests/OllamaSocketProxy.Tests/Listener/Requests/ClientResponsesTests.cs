using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// <see cref="ClientResponses"/>, the only place that chooses a status (docs/ARCHITECTURE.md#errors), writing into a
/// pipe of the test's own: a rejection, a forwarding failure and a policy's refusal each get their status, Ollama's
/// JSON error, the proxy's Date and a close, while nothing has been sent; once a response has started they only ask
/// for an abort (docs/BEHAVIOUR.md#errors). The last flush of a failing connection waits no longer than the linger.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ClientResponsesTests
{
    private const string Date = "Date: Sun, 01 Mar 2026 12:00:00 GMT\r\n";

    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task RejectionBeforeTheResponse_StatusJsonErrorDateAndClose()
    {
        await using var stage = await StartAsync();
        var (responses, output) = Responses(stage);

        await responses.RejectAsync(RequestRejection.MissingOrDuplicateHost);
        var written = Flushed(output);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(written, Does.StartWith("HTTP/1.1 400 Bad Request\r\n" + Date));
            Assert.That(written, Does.Contain("Content-Type: application/json; charset=utf-8\r\n"));
            Assert.That(written, Does.Contain("Connection: close\r\n"));
            Assert.That(written, Does.EndWith($"\r\n\r\n{{\"error\":\"{RequestRejections.Describe(RequestRejection.MissingOrDuplicateHost)}\"}}"));
            Assert.That(responses.AbortRequested, Is.False);
            Assert.That(stage.Request.Log.Status, Is.EqualTo(400));
            Assert.That(stage.Request.Log.BytesOut, Is.EqualTo(written.Length));
        }
    }

    [Test]
    public async Task RejectionOfAHeadRequest_HeadOnly()
    {
        await using var stage = await StartAsync();
        var (responses, output) = Responses(stage);
        Parse(stage, "HEAD /api/tags HTTP/1.1\r\nHost: x\r\n\r\n");

        await responses.RejectAsync(RequestRejection.Unauthorized);
        var written = Flushed(output);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(written, Does.StartWith("HTTP/1.1 401 Unauthorized\r\n"));
            Assert.That(written, Does.EndWith("\r\n\r\n"), "A response to HEAD carries no body (RFC 9110 §9.3.2).");
            Assert.That(written, Does.Not.Contain("{\"error\""));
        }
    }

    /// <summary>Each forwarding failure gets the status <see cref="ForwarderErrors.StatusCode"/> maps it to, and its fixed text.</summary>
    [TestCase("UpstreamUnreachable", 502)]
    [TestCase("UpstreamTls", 502)]
    [TestCase("ResponseHeadTimeout", 504)]
    [TestCase("ShutdownTimeout", 503)]
    [TestCase("RequestBodyClient", 400)]
    public async Task ForwardingFailureBeforeTheResponse_ItsStatusAndFixedTextAndFalse(string error, int status)
    {
        await using var stage = await StartAsync();
        var (responses, output) = Responses(stage);
        Parse(stage, "GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n");
        var failure = Enum.Parse<ForwarderError>(error);

        var keepGoing = await responses.ReportAsync(failure, "detail for the log only");
        var written = Flushed(output);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(keepGoing, Is.False);
            Assert.That(written, Does.StartWith($"HTTP/1.1 {status} ").And.Contain(Date).And.Contain("Connection: close\r\n"));
            Assert.That(written, Does.EndWith($"{{\"error\":\"{ForwarderErrors.Describe(failure)}\"}}"));
            Assert.That(written, Does.Not.Contain("detail for the log only"));
            Assert.That(responses.AbortRequested, Is.False);
            Assert.That(stage.Request.Log.Status, Is.EqualTo(status));
        }

        var logged = await stage.Logs.WaitForLineAsync(line => line.Contains("detail for the log only", StringComparison.Ordinal));
        Assert.That(logged, Does.Contain(error));
    }

    /// <summary>After the response head went out, an error can only cut the connection: appending one would corrupt it.</summary>
    [Test]
    public async Task FailureAfterTheResponseStarted_NothingWrittenAndAnAbortRequested()
    {
        await using var stage = await StartAsync();
        var (responses, output) = Responses(stage);
        Parse(stage, "GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n");
        stage.Request.ResponseStarted = true;

        await responses.RejectAsync(RequestRejection.InvalidChunkedBody);
        var afterRejection = responses.AbortRequested;
        var keepGoing = await responses.ReportAsync(ForwarderError.ResponseBodyUpstream, "upstream died");
        var written = Flushed(output);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(afterRejection, Is.True);
            Assert.That(keepGoing, Is.False);
            Assert.That(responses.AbortRequested, Is.True);
            Assert.That(written, Is.Empty);
        }
    }

    [Test]
    public async Task ClientGoneWhileRelaying_NothingWrittenAndAnAbortRequested()
    {
        await using var stage = await StartAsync();
        var (responses, output) = Responses(stage);
        Parse(stage, "GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n");

        await responses.ReportAsync(ForwarderError.ResponseBodyClient, "client went away");
        var written = Flushed(output);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(responses.AbortRequested, Is.True);
            Assert.That(written, Is.Empty);
        }
    }

    [Test]
    public async Task PolicyRefusal_ItsStatusBodyAndFieldsThenClose()
    {
        await using var stage = await StartAsync();
        var (responses, output) = Responses(stage);
        Parse(stage, "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n");

        await responses.RefuseAsync(PolicyVerdict.Refuse(429, "{\"error\":\"slow down\"}"u8.ToArray(), "Retry-After: 7\r\n"u8.ToArray()));
        var written = Flushed(output);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(written, Does.StartWith("HTTP/1.1 429 ").And.Contain(Date));
            Assert.That(written, Does.Contain("Retry-After: 7\r\n").And.Contain("Connection: close\r\n"));
            Assert.That(written, Does.EndWith("\r\n\r\n{\"error\":\"slow down\"}"));
            Assert.That(stage.Request.Log.Status, Is.EqualTo(429));
            Assert.That(stage.Request.Log.BytesOut, Is.EqualTo(written.Length));
        }
    }

    [Test]
    public async Task LocalAnswer_WrittenUnflushedAndTheResponseMarkedStarted()
    {
        await using var stage = await StartAsync();
        var (responses, output) = Responses(stage);
        Parse(stage, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");

        responses.WriteLocalAnswer(LocalAnswer.Health, close: false);
        var unflushed = responses.Output.UnflushedBytes;
        var flushed = await responses.FlushAsync();
        var written = Flushed(output);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(unflushed, Is.EqualTo(written.Length), "The answer went out before the loop flushed it.");
            Assert.That(flushed, Is.True);
            Assert.That(written, Does.StartWith("HTTP/1.1 200 OK\r\n" + Date).And.EndWith("\r\n\r\nOllama is running"));
            Assert.That(written, Does.Not.Contain("Connection: close"));
            Assert.That(stage.Request.ResponseStarted, Is.True);
            Assert.That(stage.Request.Log.Status, Is.EqualTo(200));
            Assert.That(stage.Request.Log.BytesOut, Is.EqualTo(written.Length));
        }
    }

    /// <summary>
    /// A client that stops reading cannot hold the last, small error response (nor the shutdown) past the linger
    /// (RFC 9112 §9.6); the connection then ends with a reset.
    /// </summary>
    [Test]
    public async Task LastFlushToAClientThatDoesNotRead_GivesUpAfterTheLingerAndAsksForAnAbort()
    {
        var clock = new ObservedClock();
        await using var stage = await ConnectionUnderTest.StartAsync(clock: clock);
        var full = new Pipe(new PipeOptions(pauseWriterThreshold: 16, resumeWriterThreshold: 8));
        var responses = new ClientResponses(stage.Connection, full.Writer);
        stage.Request.Begin(0);

        var rejecting = responses.RejectAsync(RequestRejection.RequestHeadTimeout);
        await clock.WaitForArmedAsync(ClientResponses.Linger);
        Assert.That(rejecting.IsCompleted, Is.False, "The flush did not wait for the client.");
        clock.Advance(ClientResponses.Linger);
        await rejecting.OrTimeoutAsync();

        Assert.That(responses.AbortRequested, Is.True);
    }

    [Test]
    public async Task ClientPipeCompleted_FlushReturnsFalseWithoutAnAbort()
    {
        await using var stage = await StartAsync();
        var (responses, output) = Responses(stage);
        await output.CompleteAsync();

        responses.Output.Write("HTTP/1.1 200 OK\r\n"u8);
        var flushed = await responses.FlushAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(flushed, Is.False);
            Assert.That(responses.AbortRequested, Is.False);
        }
    }

    private static Task<ConnectionUnderTest> StartAsync() => ConnectionUnderTest.StartAsync(clock: new FakeTimeProvider(Now));

    /// <summary>Responses into a pipe the test reads; the request begun, as the connection loop does first.</summary>
    private static (ClientResponses Responses, PipeReader Output) Responses(ConnectionUnderTest stage)
    {
        var pipe = new Pipe();
        stage.Request.Begin(0);
        return (new ClientResponses(stage.Connection, pipe.Writer), pipe.Reader);
    }

    /// <summary>Parses a head into the request, as Step 1 does, for responses that depend on its method.</summary>
    private static void Parse(ConnectionUnderTest stage, string head)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Latin1.Bytes(head)));
        Assert.That(RequestHeadParser.TryParse(ref reader, RequestLimits.Default, stage.Request.Head), Is.True);
        stage.Request.HeadParsed = true;
    }

    /// <summary>Everything flushed into the pipe so far.</summary>
    private static string Flushed(PipeReader output)
    {
        if (!output.TryRead(out var read))
        {
            return "";
        }

        var text = Latin1.Text(read.Buffer.ToArray());
        output.AdvanceTo(read.Buffer.End);
        return text;
    }
}
