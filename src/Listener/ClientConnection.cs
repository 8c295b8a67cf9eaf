using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// One client connection and its request loop (keep-alive and pipelining). Each request goes:
/// <code>
/// :: Step 1  read the head (and a small body)        ProcessRequestAsync
/// :: Step 2  route, validate framing, authenticate   Decide — nothing has gone upstream yet
/// :: Step 3  send the rewritten request upstream      ForwardAsync, ExchangeAsync (ClientConnection.Forwarding.cs)
/// :: Step 4  read the response head, relay it         ReadResponseHeadAsync
/// :: Step 5  relay the response body as it arrives    RelayResponseBodyAsync
/// </code>
/// Client errors end in <see cref="RejectAsync"/>, forwarding errors in <see cref="ReportAsync"/>: the only
/// two places that choose a status.
/// </summary>
internal sealed partial class ClientConnection
{
    /// <summary>How long a closing connection keeps reading what the client still sends (RFC 9112 §9.6).</summary>
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(2);

    private readonly ProxyContext _context;
    private readonly ClientTransport _transport;
    private readonly PhaseTimer _timer;
    private readonly RequestHead _request = new();
    private readonly ResponseHead _response = new();
    private readonly IPEndPoint? _remote;
    private string? _clientText;
    private readonly byte[]? _forwardedFor;
    // Written with Interlocked (a full fence) by one thread, read by the other: BeginStop and the request loop
    // must not both miss each other's write.
    private int _stopping;
    private int _waitingForRequest;
    private bool _abortClient;

    // The current request: for the access log and the choice between an error response and an abort.
    private bool _headParsed;
    private string? _logMethod;
    private string? _logPath;
    private bool _responseStarted;
    private int _status;
    private long _bytesOut;
    private long _started;
    private long _firstByte;

    public ClientConnection(Socket socket, ProxyContext context)
    {
        _context = context;
        _transport = new ClientTransport(socket, context.InputPauseThreshold);
        _timer = new PhaseTimer(context.TimeProvider, _transport.Closed, context.Shutdown);
        _timer.Token.UnsafeRegister(static state => Volatile.Read(ref ((ClientConnection)state!)._awaitedUpstream)?.Abort(), this);
        _remote = socket.RemoteEndPoint as IPEndPoint;
        _forwardedFor = context.Options.ForwardClientIp && _remote is not null
            ? Encoding.ASCII.GetBytes(_remote.Address.ToString())
            : null;
    }

    private PipeWriter ClientOutput => _transport.Output;

    /// <summary>The client's address for log lines, formatted only when a line is written.</summary>
    private string Client => _clientText ??= _remote?.ToString() ?? "unknown";

    /// <summary>Graceful stop: finish the request in flight, then close; an idle connection closes now.</summary>
    public void BeginStop()
    {
        Interlocked.Exchange(ref _stopping, 1);
        if (Volatile.Read(ref _waitingForRequest) == 1)
        {
            _transport.Input.CancelPendingRead();
        }
    }

    private bool Stopping => Volatile.Read(ref _stopping) == 1;

    public async Task RunAsync()
    {
        try
        {
            while (await ProcessRequestAsync().ConfigureAwait(false))
            {
            }
        }
        catch (RequestRejectionException e)
        {
            await RejectAsync(e.Reason).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ProxyLog.Unexpected(_context.Log, e, Client);
            _abortClient = true;
        }
        finally
        {
            _request.Reset();
            _response.Reset();
            _timer.Dispose();
            await _transport.CloseAsync(graceful: !_abortClient, Linger, _context.TimeProvider).ConfigureAwait(false);
        }
    }

    /// <summary>Handles one request; returns whether the connection stays open for the next.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ProcessRequestAsync()
    {
        var input = _transport.Input;

        // :: Step 1 Wait for a head: quietly close an idle keep-alive connection, 408 a head that stalls.
        Interlocked.Exchange(ref _waitingForRequest, 1);
        _timer.StartFixed(_context.Options.KeepAliveTimeout);
        if (Stopping)
        {
            return false;
        }

        var started = false;
        var headTimeoutArmed = false;
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(_timer.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                if (started && _timer.Cause == CancelCause.Timeout)
                {
                    RequestRejections.Throw(RequestRejection.RequestHeadTimeout);
                }

                return false;
            }

            if (read.IsCanceled && !started)
            {
                // BeginStop woke an idle connection. Once a request has begun, it is finished first.
                return false;
            }

            var buffer = read.Buffer;
            if (!started && !buffer.IsEmpty)
            {
                started = true;
                Interlocked.Exchange(ref _waitingForRequest, 0);
                BeginRequest();
            }

            // :: Step 2 Route, validate and authenticate, all before a byte goes upstream.
            var decision = Decide(buffer, out var headEnd, out var plan);
            switch (decision)
            {
                case Decision.NeedMore when read.IsCompleted:
                    // The client closed in the middle of a request: nobody is left to answer.
                    return false;
                case Decision.NeedMore:
                    // The head timeout starts at the first read that leaves the request incomplete. Most requests
                    // arrive whole in one read and never arm it: each arming is a timer update.
                    if (!headTimeoutArmed)
                    {
                        headTimeoutArmed = true;
                        _timer.StartFixed(_context.Options.RequestHeadTimeout);
                    }

                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                case Decision.AnsweredLocally:
                    input.AdvanceTo(headEnd);
                    return await FlushLocalAnswerAsync(plan).ConfigureAwait(false);
                default:
                    return await ForwardAsync(read, headEnd, plan).ConfigureAwait(false);
            }
        }
    }

    private enum Decision
    {
        NeedMore,
        AnsweredLocally,
        Forward,
    }

    /// <summary>What Step 2 decided for a request that goes upstream.</summary>
    private readonly record struct ForwardPlan(MappedTarget Target, BodyFraming Framing, bool BodyHeld);

    private Decision Decide(ReadOnlySequence<byte> buffer, out SequencePosition headEnd, out ForwardPlan plan)
    {
        var reader = new SequenceReader<byte>(buffer);
        plan = default;
        headEnd = buffer.Start;
        if (!RequestHeadParser.TryParse(ref reader, _context.Options.Limits, _request))
        {
            return Decision.NeedMore;
        }

        _headParsed = true;
        headEnd = reader.Position;
        var method = _request.Method;

        // Before the target, which for CONNECT is not a path: 405 for CONNECT and TRACE, 501 for the unknown.
        RequestMethods.ThrowIfNotServed(method);

        var target = RequestTarget.Map(_request.Target);
        CaptureForAccessLog(target);

        var local = LocalAnswers.For(method, target.Kind);

        // A malformed request is refused whatever its token (SPEC §4), so framing is checked first.
        var framing = BodyFraming.ForRequest(_request);
        plan = new ForwardPlan(target, framing, BodyHeld: false);

        // Ollama's health check and OPTIONS spend nothing upstream, and the ollama CLI sends them without a token.
        if (local != LocalAnswer.None)
        {
            WriteLocalAnswer(local, framing);
            return Decision.AnsweredLocally;
        }

        if (!_context.Authenticator.IsAuthorized(_request))
        {
            RequestRejections.Throw(RequestRejection.Unauthorized);
        }

        if (framing.Kind == BodyKind.ContentLength && framing.Length > _context.Options.MaxRequestBodySize)
        {
            RequestRejections.Throw(RequestRejection.BodyTooLarge);
        }

        var held = framing.Kind == BodyKind.None
            || (framing.Kind == BodyKind.ContentLength && framing.Length <= ProxyContext.HeldBodyLimit && !_request.ExpectsContinue);
        if (held && reader.Remaining < framing.Length)
        {
            // Parsed again once the rest of the small body is in: cheap, and the bytes stay in one buffer.
            return Decision.NeedMore;
        }

        plan = plan with { BodyHeld = held };
        return Decision.Forward;
    }

    private void WriteLocalAnswer(LocalAnswer answer, BodyFraming framing)
    {
        // A body on a local request is not read: the connection closes after the answer instead.
        var close = _request.WantsClose || Stopping || framing.Kind != BodyKind.None;
        LocalResponse.WriteLocalAnswer(ClientOutput, answer, _context.Date.FieldLine, close, headOnly: _request.Method == RequestMethod.Head);

        _status = 200;
        _responseStarted = true;
        _firstByte = _context.TimeProvider.GetTimestamp();
        _bytesOut = ClientOutput.UnflushedBytes;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FlushLocalAnswerAsync(ForwardPlan plan)
    {
        var flushed = await FlushClientAsync().ConfigureAwait(false);
        LogAccess();
        return flushed && !_request.WantsClose && !Stopping && plan.Framing.Kind == BodyKind.None;
    }

    private void BeginRequest()
    {
        _headParsed = false;
        _logMethod = _logPath = null;
        _responseStarted = false;
        _status = 0;
        _bytesOut = 0;
        _started = _context.TimeProvider.GetTimestamp();
        _firstByte = 0;
    }

    /// <param name="last">
    /// The connection's last response, a small error: flushed even after the connection's token fired (a timeout
    /// is what it reports), within the linger time of its own, since a client that stopped reading could
    /// otherwise hold it (and the shutdown) forever.
    /// </param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FlushClientAsync(bool last = false)
    {
        using var lastFlush = last ? new CancellationTokenSource(Linger, _context.TimeProvider) : null;
        try
        {
            var flush = await ClientOutput.FlushAsync(lastFlush?.Token ?? _timer.WriteToken).ConfigureAwait(false);
            return !flush.IsCompleted;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            _abortClient = true;
            return false;
        }
    }

    /// <summary>Answers a refused request with its status and Ollama's JSON error, and closes (SPEC §4, §6).</summary>
    private async Task RejectAsync(RequestRejection reason)
    {
        var status = RequestRejections.StatusCode(reason);
        ProxyLog.Rejected(_context.Log, Client, status, RequestRejections.Describe(reason));
        if (_responseStarted)
        {
            _abortClient = true;
            return;
        }

        var headOnly = _headParsed && _request.Method == RequestMethod.Head;
        LocalResponse.WriteRejection(ClientOutput, reason, _context.Date.FieldLine, headOnly);
        _status = status;
        _bytesOut = ClientOutput.UnflushedBytes;
        await FlushClientAsync(last: true).ConfigureAwait(false);
        LogAccess();
    }

    /// <summary>
    /// The one place a forwarding failure is turned into what the client sees (STYLE 6, 8): an error response while
    /// nothing has been sent, else an abort, so the client cannot mistake a truncated response for a whole one.
    /// </summary>
    private async Task<bool> ReportAsync(ForwarderError error, string detail)
    {
        ProxyLog.ForwardingFailed(_context.Log, Client, error, detail);
        if (_responseStarted || error == ForwarderError.ResponseBodyClient)
        {
            _abortClient = true;
        }
        else
        {
            _status = ForwarderErrors.StatusCode(error);
            LocalResponse.WriteError(ClientOutput, _status, ForwarderErrors.Describe(error), _context.Date.FieldLine, close: true, _request.Method == RequestMethod.Head);
            _bytesOut = ClientOutput.UnflushedBytes;
            await FlushClientAsync(last: true).ConfigureAwait(false);
        }

        LogAccess();
        return false;
    }

    /// <summary>
    /// The head's bytes live in the pipe only until they are consumed, so what the access log needs is taken now.
    /// Only then: with the access log off, a request allocates no string.
    /// </summary>
    private void CaptureForAccessLog(MappedTarget target)
    {
        if (!_context.Options.AccessLog)
        {
            return;
        }

        _logMethod = Encoding.ASCII.GetString(_request.MethodBytes);
        var path = PathOnly(_request.Target[target.RestStart..]);
        _logPath = target.Kind == TargetKind.Forward || (target.Kind == TargetKind.Root && _request.Method is not (RequestMethod.Get or RequestMethod.Head))
            ? string.Concat(Encoding.ASCII.GetString(MappedTarget.PrefixBytes(target.Prefix)), Encoding.ASCII.GetString(path))
            : Encoding.ASCII.GetString(PathOnly(_request.Target));
    }

    private void LogAccess()
    {
        if (!_context.Options.AccessLog)
        {
            return;
        }

        var clock = _context.TimeProvider;
        var firstByte = _firstByte == 0 ? 0 : clock.GetElapsedTime(_started, _firstByte).TotalMilliseconds;
        ProxyLog.Access(_context.AccessLog, Client, _logMethod ?? "-", _logPath ?? "-", _status, _bytesOut, firstByte, clock.GetElapsedTime(_started).TotalMilliseconds);
    }

    /// <summary>The path without its query: queries may carry values that do not belong in a log.</summary>
    private static ReadOnlySpan<byte> PathOnly(ReadOnlySpan<byte> target)
    {
        var query = target.IndexOf((byte)'?');
        return query < 0 ? target : target[..query];
    }
}
