using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Upstream;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// Step 3 of a request: an upstream connection is rented and the rewritten request goes out on it, either whole
/// (a held body, which can be sent again) or with its body streamed from the client. Steps 4 and 5 follow in
/// <see cref="ResponseRelay"/>. The rented connection belongs to this request until it is returned to the pool or
/// aborted, whatever happens.
/// </summary>
internal sealed class Forwarder(ClientConnection connection)
{
    private readonly ResponseRelay _relay = new(connection);

    private ProxyContext Context => connection.Context;

    private RequestContext Request => connection.Request;

    private TimeoutControl Timeouts => connection.Timeouts;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> ForwardAsync(ReadResult read, SequencePosition headEnd)
    {
        // :: Step 3 The response timeout bounds it all from here: connecting (which also has its own, shorter timeout),
        // sending, and waiting for the head. A streamed body has its rate deadline instead, and the response timeout
        // starts again once that body is out.
        Timeouts.Arm(TimeoutReason.UpstreamResponse, Context.Options.UpstreamResponseTimeout);
        var upstream = await RentAsync(fresh: false).ConfigureAwait(false);
        if (upstream is null)
        {
            return false;
        }

        try
        {
            return await ExchangeAsync(upstream, read, headEnd).ConfigureAwait(false);
        }
        catch
        {
            // Owned here until returned to the pool or disposed: a failure nobody expected must not leak it.
            upstream.Abort();
            throw;
        }
    }

    /// <summary>Steps 3 to 5 on a connection this request owns: send, read the response head, relay the body.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ExchangeAsync(UpstreamConnection upstream, ReadResult read, SequencePosition headEnd)
    {
        var input = connection.Input;
        HeadOutcome outcome;
        if (Request.BodyHeld)
        {
            // The whole request is in the client pipe and stays there until the response head comes, so it can be sent again.
            var requestEnd = Request.HeldBody.IsEmpty ? headEnd : Request.HeldBody.End;
            var sent = await SendHeldRequestAsync(upstream).ConfigureAwait(false);
            Request.HeldBody = default;
            input.AdvanceTo(requestEnd);
            if (sent.Upstream is null)
            {
                return false;
            }

            (upstream, outcome) = (sent.Upstream, sent.Outcome);
        }
        else
        {
            WriteRequestHead(upstream.Output);
            input.AdvanceTo(headEnd);
            if (!await SendStreamedBodyAsync(upstream).ConfigureAwait(false))
            {
                return false;
            }

            Timeouts.Arm(TimeoutReason.UpstreamResponse, Context.Options.UpstreamResponseTimeout);
            outcome = await _relay.ReadHeadAsync(upstream).ConfigureAwait(false);
        }

        // :: Step 4 The response head was relayed, or this is the error to report.
        if (outcome != HeadOutcome.Relayed)
        {
            upstream.Abort();
            return await ReportHeadFailureAsync(outcome).ConfigureAwait(false);
        }

        // :: Step 5 The body, as it arrives (or whole, when a policy rewrites it).
        return Request.Transforming
            ? await _relay.RelayTransformedAsync(upstream).ConfigureAwait(false)
            : await _relay.RelayBodyAsync(upstream).ConfigureAwait(false);
    }

    private void WriteRequestHead(PipeWriter output) =>
        Context.Rewriter.WriteHead(
            output, Request.Head, Request.Target, Request.Framing, Request.UpstreamAuthorization.Span, connection.ForwardedFor,
            Request.IdentityEncoding);

    /// <summary>
    /// Sends a request whose body is held whole, and reads its response head. It goes once more on another
    /// connection when a pooled one fails before a byte of response came back (most likely the upstream closed it
    /// while idle), for idempotent methods only (RFC 9110 §9.2.2), or when a policy asks for it.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(UpstreamConnection? Upstream, HeadOutcome Outcome)> SendHeldRequestAsync(UpstreamConnection upstream)
    {
        while (true)
        {
            WriteRequestHead(upstream.Output);
            foreach (var segment in Request.HeldBody)
            {
                upstream.Output.Write(segment.Span);
            }

            HeadOutcome outcome;
            try
            {
                outcome = await FlushUpstreamAsync(upstream).ConfigureAwait(false)
                    ? await _relay.ReadHeadAsync(upstream).ConfigureAwait(false)
                    : HeadOutcome.UpstreamClosed;
            }
            catch (OperationCanceledException)
            {
                // The response timeout, the shutdown or the client's leaving came while the request was still going out.
                return (upstream, HeadOutcome.Canceled);
            }

            var again = outcome == HeadOutcome.RetryRequested
                || (outcome == HeadOutcome.UpstreamClosed && upstream.FromPool && IsIdempotent(Request.Head.Method));
            if (!again)
            {
                return (upstream, outcome);
            }

            ProxyLog.Retrying(Context.Log, connection.Peer, outcome == HeadOutcome.RetryRequested
                ? "a policy asked for the request again"
                : "pooled connection closed before a response");
            upstream.Abort();

            // The new attempt gets the whole response timeout again (the first was armed in ForwardAsync).
            Timeouts.Arm(TimeoutReason.UpstreamResponse, Context.Options.UpstreamResponseTimeout);
            var next = await RentAsync(fresh: outcome == HeadOutcome.UpstreamClosed).ConfigureAwait(false);
            if (next is null)
            {
                return (null, outcome);
            }

            upstream = next;
        }
    }

    /// <summary>
    /// RFC 9110 §9.2.2: a proxy MUST NOT retry a non-idempotent request on its own. A POST the upstream may already
    /// have read would run (and be billed) twice; for those, only the check before use replaces a pooled connection
    /// the upstream has closed.
    /// </summary>
    private static bool IsIdempotent(RequestMethod method) =>
        method is RequestMethod.Get or RequestMethod.Head or RequestMethod.Put or RequestMethod.Delete;

    /// <summary>Relays a body the proxy does not hold: chunked, large, or after 100-continue.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendStreamedBodyAsync(UpstreamConnection upstream)
    {
        if (Request.Head.ExpectsContinue)
        {
            // RFC 9110 §10.1.1: the caller is authenticated; it may send the body now. Expect was not forwarded.
            connection.Responses.Output.Write(LocalResponse.Continue);
            if (!await connection.Responses.FlushAsync().ConfigureAwait(false))
            {
                upstream.Abort();
                return false;
            }
        }

        Timeouts.ArmRate(TimeoutReason.RequestBody, Context.Options.MinRequestBodyRate, Context.Options.MinRequestBodyRateGrace);
        var (result, _, _) = await BodyRelay.CopyAsync(
            connection.Input, upstream.Output, Request.Framing, ChunkedRelayMode.WithoutTrailers,
            Context.Options.MaxRequestBodySize, Timeouts, Timeouts.Token, Timeouts.Token).ConfigureAwait(false);
        if (result == RelayResult.Completed)
        {
            return true;
        }

        // A body that ends early is never completed upstream: the connection is aborted, no last chunk sent
        // (docs/BEHAVIOUR.md#forwarded-request).
        upstream.Abort();
        switch (result)
        {
            case RelayResult.SourceInvalid:
                RequestRejections.Throw(RequestRejection.InvalidChunkedBody);
                break;
            case RelayResult.TooLarge:
                RequestRejections.Throw(RequestRejection.BodyTooLarge);
                break;
            case RelayResult.Canceled:
                return await connection.EndCanceledAsync().ConfigureAwait(false);
            case RelayResult.DestinationFailed:
                return await connection.Responses.ReportAsync(ForwarderError.RequestUpstream, "upstream failed while the request body was sent").ConfigureAwait(false);
        }

        return await connection.Responses.ReportAsync(ForwarderError.RequestBodyClient, $"request body relay ended: {result}").ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<UpstreamConnection?> RentAsync(bool fresh)
    {
        try
        {
            return fresh
                ? await Context.Pool.ConnectAsync(Timeouts.Token).ConfigureAwait(false)
                : await Context.Pool.RentAsync(Timeouts.Token).ConfigureAwait(false);
        }
        catch (UpstreamConnectException e)
        {
            var error = e.Failure switch
            {
                UpstreamConnectFailure.Tls => ForwarderError.UpstreamTls,
                UpstreamConnectFailure.Timeout => ForwarderError.UpstreamConnectTimeout,
                _ => ForwarderError.UpstreamUnreachable,
            };
            await connection.Responses.ReportAsync(error, e.Message).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException)
        {
            // The response timeout (armed before renting), the shutdown, or the client's leaving.
            await connection.EndCanceledAsync().ConfigureAwait(false);
            return null;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FlushUpstreamAsync(UpstreamConnection upstream)
    {
        try
        {
            var flush = await upstream.Output.FlushAsync(Timeouts.Token).ConfigureAwait(false);
            return !flush.IsCompleted;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private async ValueTask<bool> ReportHeadFailureAsync(HeadOutcome outcome) => outcome switch
    {
        HeadOutcome.Refused => await RefuseAsync().ConfigureAwait(false),
        HeadOutcome.UpstreamClosed => await connection.Responses.ReportAsync(ForwarderError.ResponseHeadUpstream, "upstream closed before a response head").ConfigureAwait(false),
        HeadOutcome.Invalid => await connection.Responses.ReportAsync(ForwarderError.ResponseInvalid, "malformed response head").ConfigureAwait(false),
        _ => await connection.EndCanceledAsync().ConfigureAwait(false),
    };

    private async ValueTask<bool> RefuseAsync()
    {
        await connection.Responses.RefuseAsync(Request.Refusal).ConfigureAwait(false);
        return false;
    }
}
