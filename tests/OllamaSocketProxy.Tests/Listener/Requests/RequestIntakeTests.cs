using System.Buffers;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// Step 2 of a request, <see cref="RequestIntake.Decide"/>, on a connection whose loop does not run: what is decided
/// before a byte goes upstream, in the order the rules need it (docs/BEHAVIOUR.md): a malformed request is refused
/// whatever its token; the proxy's own answers need none; then authentication, the body limit, the held body and the
/// policies. Each request is cut in every buffer shape, as a pipe may hand it over.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestIntakeTests
{
    private static readonly string Auth = ConnectionUnderTest.AuthorizationField;

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task IncompleteHead_NeedMoreAndNothingConsumed(BufferShape shape)
    {
        await using var stage = await ConnectionUnderTest.StartAsync();

        var (decision, consumed) = Decide(stage, shape.Build($"GET /api/tags HTTP/1.1\r\nHost: x\r\n{Auth}"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(decision, Is.EqualTo(Decision.NeedMore));
            Assert.That(consumed, Is.Zero);
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task AuthenticatedRequestWithoutBody_ForwardedWithItsTargetMappedAndAnEmptyBodyHeld(BufferShape shape)
    {
        await using var stage = await ConnectionUnderTest.StartAsync();
        var head = $"GET /tags?x=1 HTTP/1.1\r\nHost: x\r\n{Auth}\r\n";

        var (decision, consumed) = Decide(stage, shape.Build(head));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(decision, Is.EqualTo(Decision.Forward));
            Assert.That(consumed, Is.EqualTo(head.Length));
            Assert.That(stage.Request.HeadParsed, Is.True);
            Assert.That(stage.Request.Target.Kind, Is.EqualTo(TargetKind.Forward));
            Assert.That(stage.Request.Client, Is.Not.Null);
            Assert.That(stage.Request.Framing, Is.EqualTo(BodyFraming.None));
            Assert.That(stage.Request.BodyHeld, Is.True);
            Assert.That(stage.Request.HeldBody.IsEmpty, Is.True);
            Assert.That(stage.Request.ResponseStarted, Is.False);
        }
    }

    /// <summary>A small body is held whole before anything is sent, so the request can be sent again (docs/BEHAVIOUR.md#connections).</summary>
    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task SmallBody_NeedMoreUntilItIsAllThereThenHeld(BufferShape shape)
    {
        await using var stage = await ConnectionUnderTest.StartAsync();
        var head = $"POST /api/chat HTTP/1.1\r\nHost: x\r\n{Auth}Content-Length: 17\r\n\r\n";

        var (partly, _) = Decide(stage, shape.Build(head + "{\"model\""));
        var (whole, consumed) = Decide(stage, shape.Build(head + "{\"model\":\"gemma\"}"), begin: false);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(partly, Is.EqualTo(Decision.NeedMore));
            Assert.That(whole, Is.EqualTo(Decision.Forward));
            Assert.That(consumed, Is.EqualTo(head.Length), "The head ends where the held body starts.");
            Assert.That(stage.Request.BodyHeld, Is.True);
            Assert.That(Latin1.Text(stage.Request.HeldBody.ToArray()), Is.EqualTo("{\"model\":\"gemma\"}"));
        }
    }

    /// <summary>A body that is large (also behind Expect: 100-continue) or chunked streams upstream as it arrives.</summary>
    public static IEnumerable<TestCaseData> StreamedBodies() => Cross(
        Case("above the held size", $"POST /api/chat HTTP/1.1\r\nHost: x\r\n{Auth}Content-Length: {(64 * 1024) + 1}\r\n\r\n"),
        Case("above the held size, Expect: 100-continue", $"POST /api/chat HTTP/1.1\r\nHost: x\r\n{Auth}Content-Length: {(64 * 1024) + 1}\r\nExpect: 100-continue\r\n\r\n"),
        Case("chunked", $"POST /api/chat HTTP/1.1\r\nHost: x\r\n{Auth}Transfer-Encoding: chunked\r\n\r\n"));

    [TestCaseSource(nameof(StreamedBodies))]
    public async Task BodyThatStreams_ForwardedWithoutWaitingForIt(string head, BufferShape shape)
    {
        await using var stage = await ConnectionUnderTest.StartAsync();

        var (decision, consumed) = Decide(stage, shape.Build(head));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(decision, Is.EqualTo(Decision.Forward));
            Assert.That(consumed, Is.EqualTo(head.Length));
            Assert.That(stage.Request.BodyHeld, Is.False);
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task RequestWithoutToken_Unauthorized(BufferShape shape)
    {
        await using var stage = await ConnectionUnderTest.StartAsync();

        var rejection = Rejection(stage, shape.Build("POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"));

        Assert.That(rejection, Is.EqualTo(RequestRejection.Unauthorized));
    }

    /// <summary>A request the client got wrong is refused for what it is, whatever its token: 400, 405 or 501, never 401.</summary>
    public static IEnumerable<TestCaseData> MalformedWithoutToken() => Cross(
        Case("TRACE", "TRACE /api/tags HTTP/1.1\r\nHost: x\r\n\r\n", "MethodNotAllowed"),
        Case("unknown method", "PROPFIND /api/tags HTTP/1.1\r\nHost: x\r\n\r\n", "MethodNotImplemented"),
        Case("Content-Length and Transfer-Encoding", "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", "ContentLengthAndTransferEncoding"),
        Case("Transfer-Encoding not ending in chunked", "POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "InvalidTransferEncoding"),
        Case("asterisk-form with GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", "InvalidRequestTarget"),
        Case("missing Host", "GET /api/tags HTTP/1.1\r\n\r\n", "MissingOrDuplicateHost"));

    [TestCaseSource(nameof(MalformedWithoutToken))]
    public async Task MalformedRequestWithoutToken_RefusedForWhatItIsNotAsUnauthorized(string request, string reason, BufferShape shape)
    {
        await using var stage = await ConnectionUnderTest.StartAsync();

        var rejection = Rejection(stage, shape.Build(request));

        Assert.That(rejection, Is.EqualTo(Enum.Parse<RequestRejection>(reason)));
    }

    /// <summary>The body limit is judged once the caller is known: a stranger learns nothing about the limits.</summary>
    [TestCase(true, "BodyTooLarge")]
    [TestCase(false, "Unauthorized")]
    public async Task ContentLengthAboveTheLimit_BodyTooLargeOnlyForAnAuthenticatedCaller(bool withToken, string reason)
    {
        await using var stage = await ConnectionUnderTest.StartAsync(new Dictionary<string, string?> { ["PROXY_MAX_REQUEST_BODY_SIZE"] = "100" });

        var rejection = Rejection(stage, OneSegment.Build(
            $"POST /api/chat HTTP/1.1\r\nHost: x\r\n{(withToken ? Auth : "")}Content-Length: 101\r\n\r\n"));

        Assert.That(rejection, Is.EqualTo(Enum.Parse<RequestRejection>(reason)));
    }

    /// <summary>
    /// Ollama's health check and OPTIONS are answered without a token; the connection closes after the answer when the
    /// client asks, when the proxy is stopping, or when the request has a body the proxy will not read.
    /// </summary>
    [TestCase("GET / HTTP/1.1\r\nHost: x\r\n\r\n", false)]
    [TestCase("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", false)]
    [TestCase("OPTIONS /api/chat HTTP/1.1\r\nHost: x\r\n\r\n", false)]
    [TestCase("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", true)]
    [TestCase("OPTIONS /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", true)]
    public async Task LocalAnswer_WrittenWithoutATokenAndClosesWhenItMust(string request, bool close)
    {
        await using var stage = await ConnectionUnderTest.StartAsync();

        var (decision, _) = Decide(stage, OneSegment.Build(request));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(decision, Is.EqualTo(Decision.AnsweredLocally));
            Assert.That(stage.Request.ResponseStarted, Is.True);
            Assert.That(stage.Request.CloseAfterResponse, Is.EqualTo(close));
            Assert.That(stage.Request.Log.Status, Is.EqualTo(200));
        }
    }

    [Test]
    public async Task HealthCheckWhileStopping_ClosesAfterTheAnswer()
    {
        await using var stage = await ConnectionUnderTest.StartAsync();
        stage.Connection.BeginStop();

        var (decision, _) = Decide(stage, OneSegment.Build("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(decision, Is.EqualTo(Decision.AnsweredLocally));
            Assert.That(stage.Request.CloseAfterResponse, Is.True);
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task RefusingPolicy_RefusedWithItsVerdictAfterAuthentication(BufferShape shape)
    {
        var policy = new RefuseEverything();
        await using var stage = await ConnectionUnderTest.StartAsync(policies: [policy]);

        var (decision, _) = Decide(stage, shape.Build($"POST /api/chat HTTP/1.1\r\nHost: x\r\n{Auth}Content-Length: 2\r\n\r\n{{}}"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(decision, Is.EqualTo(Decision.Refused));
            Assert.That(stage.Request.Refusal.Status, Is.EqualTo(429));
            Assert.That(stage.Request.PoliciesAsked, Is.EqualTo(stage.Connection.Context.Policies.Count), "The refusing policy, the last, was asked after every other.");
            Assert.That(policy.SawClient, Is.True, "The policy was asked before the caller was authenticated.");
            Assert.That(policy.SawHeldBody, Is.EqualTo("{}"));
        }
    }

    /// <summary>Runs Step 2 as the connection loop does: the request begun, then decided; returns how far the head went.</summary>
    private static (Decision Decision, long HeadLength) Decide(ConnectionUnderTest stage, ReadOnlySequence<byte> buffer, bool begin = true)
    {
        if (begin)
        {
            stage.Request.Begin(0);
        }

        var decision = new RequestIntake(stage.Connection).Decide(buffer, out var headEnd);
        return (decision, buffer.Slice(buffer.Start, headEnd).Length);
    }

    private static RequestRejection? Rejection(ConnectionUnderTest stage, ReadOnlySequence<byte> buffer)
    {
        try
        {
            var (decision, _) = Decide(stage, buffer);
            Assert.Fail($"Not refused: {decision}");
            return null;
        }
        catch (RequestRejectionException e)
        {
            return e.Reason;
        }
    }

    private sealed class RefuseEverything : RequestPolicy
    {
        public bool SawClient { get; private set; }

        public string? SawHeldBody { get; private set; }

        public override PolicyVerdict OnRequest(RequestContext request)
        {
            SawClient = request.Client is not null;
            SawHeldBody = Latin1.Text(request.HeldBody.ToArray());
            return PolicyVerdict.Refuse(429, "{\"error\":\"no\"}"u8.ToArray());
        }
    }
}
