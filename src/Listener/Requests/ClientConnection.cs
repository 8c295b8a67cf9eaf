using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// One client connection and its request loop (keep-alive and pipelining), as Kestrel's <c>HttpProtocol</c> runs its
/// loop. Each request goes through named stages (docs/ARCHITECTURE.md#request-path):
/// <code>
/// :: Step 1  read the head (and a small body)          ProcessRequestAsync
/// :: Step 2  route, validate, authenticate, policies   RequestIntake.Decide — nothing has gone upstream yet
/// :: Step 3  send the rewritten request upstream        Forwarder.ForwardAsync
/// :: Step 4  read the response head, relay it           ResponseRelay.ReadHeadAsync
/// :: Step 5  relay the response body as it arrives      ResponseRelay.RelayBodyAsync
/// </code>
/// The state of the request in flight lives in one <see cref="RequestContext"/>, reset as a unit; what reaches the
/// client goes through <see cref="ClientResponses"/>, the only place that chooses a status.
/// </summary>
internal sealed class ClientConnection
{
    private readonly ClientTransport _transport;
    private readonly RequestIntake _intake;
    private readonly Forwarder _forwarder;
    private readonly IPEndPoint? _remote;
    private string? _peerText;

    // Written with Interlocked (a full fence) by one thread, read by the other: BeginStop and the request loop
    // must not both miss each other's write.
    private int _stopping;
    private int _waitingForRequest;

    public ClientConnection(Socket socket, ProxyContext context)
    {
        Context = context;
        _transport = new ClientTransport(socket, context.InputPauseThreshold);
        Timeouts = new TimeoutControl(context.TimeProvider, _transport.Closed, context.Shutdown);
        Request = new RequestContext(context.Policies.Count);
        Responses = new ClientResponses(this, _transport.Output);
        _remote = socket.RemoteEndPoint as IPEndPoint;
        ForwardedFor = context.Options.ForwardClientIp && _remote is not null
            ? Encoding.ASCII.GetBytes(_remote.Address.ToString())
            : null;
        _intake = new RequestIntake(this);
        _forwarder = new Forwarder(this);
    }

    public ProxyContext Context { get; }

    public TimeoutControl Timeouts { get; }

    public RequestContext Request { get; }

    public ClientResponses Responses { get; }

    public PipeReader Input => _transport.Input;

    /// <summary>The client's address for <c>X-Forwarded-For</c>, when configured.</summary>
    public byte[]? ForwardedFor { get; }

    /// <summary>The client's address for log lines, formatted only when a line is written.</summary>
    public string Peer => _peerText ??= _remote?.ToString() ?? "unknown";

    /// <summary>The host is stopping: the request in flight is the connection's last.</summary>
    public bool Stopping => Volatile.Read(ref _stopping) == 1;

    /// <summary>Graceful stop: finish the request in flight, then close; an idle connection closes now.</summary>
    public void BeginStop()
    {
        Interlocked.Exchange(ref _stopping, 1);
        if (Volatile.Read(ref _waitingForRequest) == 1)
        {
            _transport.Input.CancelPendingRead();
        }
    }

    public async Task RunAsync()
    {
        try
        {
            bool keepAlive;
            do
            {
                keepAlive = await ProcessRequestAsync().ConfigureAwait(false);
                EndRequest();
            }
            while (keepAlive);
        }
        catch (RequestRejectionException e)
        {
            await Responses.RejectAsync(e.Reason).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            ProxyLog.Unexpected(Context.Log, e, Peer);
            Responses.Abort();
        }
        finally
        {
            EndRequest();
            Timeouts.Dispose();
            await _transport.CloseAsync(graceful: !Responses.AbortRequested, ClientResponses.Linger, Context.TimeProvider).ConfigureAwait(false);
        }
    }

    /// <summary>Handles one request; returns whether the connection stays open for the next.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ProcessRequestAsync()
    {
        var input = _transport.Input;

        // :: Step 1 Wait for a head: an idle keep-alive connection closes quietly, a head that stalls gets 408.
        Interlocked.Exchange(ref _waitingForRequest, 1);
        Timeouts.Arm(TimeoutReason.KeepAlive, Context.Options.KeepAliveTimeout);
        if (Stopping)
        {
            return false;
        }

        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(Timeouts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return await EndCanceledAsync().ConfigureAwait(false);
            }

            if (read.IsCanceled && !Request.InProgress)
            {
                // BeginStop woke an idle connection. Once a request has begun, it is finished first.
                return false;
            }

            var buffer = read.Buffer;
            if (!Request.InProgress && !buffer.IsEmpty)
            {
                Interlocked.Exchange(ref _waitingForRequest, 0);
                Request.Begin(Context.TimeProvider.GetTimestamp());
            }

            // :: Step 2 Route, validate, authenticate and ask the policies, all before a byte goes upstream.
            var decision = _intake.Decide(buffer, out var headEnd);
            switch (decision)
            {
                case Decision.NeedMore when read.IsCompleted:
                    // The client closed in the middle of a request: nobody is left to answer.
                    return false;
                case Decision.NeedMore:
                    // The head timeout starts at the first read that leaves the request incomplete. Most requests
                    // arrive whole in one read and never arm it: each arming is a timer update.
                    if (Timeouts.Phase == TimeoutReason.KeepAlive)
                    {
                        Timeouts.Arm(TimeoutReason.RequestHead, Context.Options.RequestHeadTimeout);
                    }

                    input.AdvanceTo(buffer.Start, buffer.End);
                    if (Request.ContinueSent && Responses.Output.UnflushedBytes > 0 && !await Responses.FlushAsync().ConfigureAwait(false))
                    {
                        return false;
                    }

                    continue;
                case Decision.AnsweredLocally:
                    input.AdvanceTo(headEnd);
                    return await Responses.FlushAsync().ConfigureAwait(false) && !Request.CloseAfterResponse;
                case Decision.Refused:
                    input.AdvanceTo(headEnd);
                    await Responses.RefuseAsync(Request.Refusal).ConfigureAwait(false);
                    return false;
                default:
                    // :: Steps 3 to 5 (Forwarder, ResponseRelay).
                    return await _forwarder.ForwardAsync(read, headEnd).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The connection's token fired in the current phase: what the client gets is looked up in one table
    /// (<see cref="TimeoutOutcomes.For"/>), never decided where the cancellation was caught.
    /// </summary>
    public ValueTask<bool> EndCanceledAsync()
    {
        var outcome = Timeouts.Outcome;
        switch (outcome.Action)
        {
            case TimeoutAction.Reject:
                RequestRejections.Throw(outcome.Rejection);
                return ValueTask.FromResult(false);
            case TimeoutAction.Report:
                return Responses.ReportAsync(outcome.Error, Describe(Timeouts.Phase, Timeouts.Cause));
            default:
                return ValueTask.FromResult(false);
        }
    }

    private static string Describe(TimeoutReason phase, CancelCause cause) => (phase, cause) switch
    {
        (TimeoutReason.UpstreamResponse, CancelCause.Timeout) => "no response head within PROXY_UPSTREAM_RESPONSE_TIMEOUT",
        (TimeoutReason.UpstreamResponse, CancelCause.Shutdown) => "no response head before the shutdown grace period ended",
        (TimeoutReason.ResponseBody, CancelCause.Timeout) => "upstream silent for PROXY_UPSTREAM_IDLE_TIMEOUT in the response body",
        (_, CancelCause.Shutdown) => $"the shutdown grace period ended during {phase}",
        (_, CancelCause.ClientGone) => $"client went away during {phase}",
        _ => $"{phase} ended: {cause}",
    };

    /// <summary>The request is over however it ended: the policies hear it once, then its access-log line.</summary>
    private void EndRequest()
    {
        if (!Request.InProgress)
        {
            return;
        }

        Context.Policies.OnCompleted(Request);
        if (Context.Options.AccessLog)
        {
            Request.Log.Write(Context.AccessLog, Peer, Context.TimeProvider, Request.Client?.Name, Request.Model, Request.KeyLabel);
        }

        Request.End();
    }
}

/// <summary>What Step 2 decided.</summary>
internal enum Decision
{
    /// <summary>The head (or the small body held with it) is not complete yet.</summary>
    NeedMore,

    /// <summary>The proxy answered itself (<c>GET /</c>, <c>OPTIONS</c>).</summary>
    AnsweredLocally,

    /// <summary>A policy refused it: <see cref="RequestContext.Refusal"/>.</summary>
    Refused,

    /// <summary>It goes upstream.</summary>
    Forward,
}
