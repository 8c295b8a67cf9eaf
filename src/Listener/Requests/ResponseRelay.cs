using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Upstream;

namespace OllamaSocketProxy.Listener;

/// <summary>How reading a response head ended.</summary>
internal enum HeadOutcome
{
    /// <summary>A final response head was read and written to the client.</summary>
    Relayed,

    /// <summary>The upstream closed or reset before sending a byte of response.</summary>
    UpstreamClosed,

    /// <summary>The upstream sent bytes that are not a response head (or a truncated one).</summary>
    Invalid,

    /// <summary>The connection's token fired: see <see cref="TimeoutControl.Outcome"/>.</summary>
    Canceled,

    /// <summary>A policy asked for the request to be sent again; nothing of this response went to the client.</summary>
    RetryRequested,

    /// <summary>A policy refused the response: <see cref="RequestContext.Refusal"/> is answered instead.</summary>
    Refused,
}

/// <summary>
/// Steps 4 and 5 of a request: the upstream's response head, checked and rewritten for the client
/// (docs/BEHAVIOUR.md#response), then its body, relayed as it arrives. An upstream connection that ends its response
/// exactly where the framing said goes back to the pool; any other is aborted.
/// </summary>
internal sealed partial class ResponseRelay : IBodyObserver
{
    private readonly ClientConnection _connection;

    /// <summary>The upstream connection whose idle read this request waits on; aborted if the token fires.</summary>
    private UpstreamConnection? _awaitedUpstream;

    public ResponseRelay(ClientConnection connection)
    {
        _connection = connection;

        // One registration for the connection's life: one per request would allocate.
        connection.Timeouts.Token.UnsafeRegister(static state => Volatile.Read(ref ((ResponseRelay)state!)._awaitedUpstream)?.Abort(), this);
    }

    private RequestContext Request => _connection.Request;

    private TimeoutControl Timeouts => _connection.Timeouts;

    private ClientResponses Responses => _connection.Responses;

    /// <summary>
    /// Reads response heads until a final one, relaying interim ones the client can use (never 100, which the proxy
    /// already answered, nor 101), and writes the final head to the client without flushing it when body bytes follow.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<HeadOutcome> ReadHeadAsync(UpstreamConnection upstream)
    {
        // The response timeout was armed once for this attempt, before the request went out. While the idle read
        // waits, a firing token aborts the connection (through the one registration made in the constructor); the
        // token then says why the wait ended.
        Volatile.Write(ref _awaitedUpstream, upstream);
        try
        {
            if (Timeouts.Token.IsCancellationRequested)
            {
                upstream.Abort();
            }

            await upstream.WaitForResponseAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            return Timeouts.Token.IsCancellationRequested ? HeadOutcome.Canceled : HeadOutcome.UpstreamClosed;
        }
        finally
        {
            Volatile.Write(ref _awaitedUpstream, null);
        }

        if (Timeouts.Token.IsCancellationRequested)
        {
            return HeadOutcome.Canceled;
        }

        var input = upstream.Input;
        var received = false;
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(Timeouts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return HeadOutcome.Canceled;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                return received ? HeadOutcome.Invalid : HeadOutcome.UpstreamClosed;
            }

            var buffer = read.Buffer;
            received |= !buffer.IsEmpty;
            HeadStep step;
            SequencePosition consumed;
            try
            {
                step = TryRelayHead(buffer, read.IsCompleted, out consumed);
            }
            catch (InvalidResponseException)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                return HeadOutcome.Invalid;
            }

            if (step == HeadStep.NeedMore)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                {
                    return received ? HeadOutcome.Invalid : HeadOutcome.UpstreamClosed;
                }

                continue;
            }

            if (step is HeadStep.Retry or HeadStep.Refuse)
            {
                input.AdvanceTo(consumed);
                return step == HeadStep.Retry ? HeadOutcome.RetryRequested : HeadOutcome.Refused;
            }

            if (step == HeadStep.Transform)
            {
                // Nothing went to the client yet: the rewritten answer goes whole, once its body is in. The head is
                // written then, after reads that reuse the memory it lies in: it is copied out first.
                Request.Response.KeepBytes();
                input.AdvanceTo(consumed);
                return HeadOutcome.Relayed;
            }

            var bodyFollows = buffer.Slice(consumed).Length > 0;
            input.AdvanceTo(consumed);
            if (step == HeadStep.Interim || !bodyFollows)
            {
                // No body bytes yet: the head goes to the client now, not with the first chunk.
                if (!await Responses.FlushAsync().ConfigureAwait(false))
                {
                    return HeadOutcome.Canceled;
                }
            }

            if (step == HeadStep.Final)
            {
                return HeadOutcome.Relayed;
            }
        }
    }

    private enum HeadStep
    {
        NeedMore,
        Interim,
        Final,
        Retry,
        Refuse,
        Transform,
    }

    private HeadStep TryRelayHead(ReadOnlySequence<byte> buffer, bool sourceEnded, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        var response = Request.Response;
        var head = Request.Head;
        consumed = buffer.Start;
        if (!ResponseHeadParser.TryParse(ref reader, response))
        {
            return HeadStep.NeedMore;
        }

        consumed = reader.Position;
        var output = Responses.Output;
        if (response.IsInterim)
        {
            // RFC 9110 §15.2: 1xx goes only to HTTP/1.1 clients; 101 would switch protocols the proxy does not relay.
            if (response.StatusCode == 101)
            {
                throw new InvalidResponseException("upstream switched protocols");
            }

            if (response.StatusCode != 100 && head.Version == Http1Version.Http11)
            {
                ResponseHeadWriter.Write(output, response, dechunk: false, close: false, dateField: default);
            }

            return HeadStep.Interim;
        }

        var policies = _connection.Context.Policies;
        var framing = BodyFraming.ForResponse(head.Method, response);
        if (!sourceEnded && WaitsForBody(policies.ResponseBodyWanted(Request, response), framing, buffer.Slice(consumed)))
        {
            // Parsed again once more of the body is in: the head stays unconsumed until the policies have judged it.
            consumed = buffer.Start;
            return HeadStep.NeedMore;
        }

        var verdict = policies.OnResponseHead(Request, response, buffer.Slice(consumed));
        if (verdict == ResponseVerdict.Refuse || (verdict == ResponseVerdict.Retry && Request.CanResend))
        {
            return verdict == ResponseVerdict.Retry ? HeadStep.Retry : HeadStep.Refuse;
        }

        Request.ResponseFraming = framing;
        if (Request.ResponseTransform is { } transform && framing.Kind != BodyKind.None && transform.Applies(response))
        {
            Request.Transforming = true;
            return HeadStep.Transform;
        }

        // Broken chunk framing is a 502 while nothing was sent (docs/BEHAVIOUR.md#response). The chunk bytes that came
        // with the head are checked before the head goes out; framing broken in a later read can only abort.
        if (framing.Kind == BodyKind.Chunked && !ChunkedParser.IsPlausiblePrefix(buffer.Slice(consumed)))
        {
            throw new InvalidResponseException("upstream sent broken chunked framing");
        }

        // An HTTP/1.0 client never sees Transfer-Encoding, also on a bodiless response (HEAD, 204, 304).
        Request.Dechunk = head.Version == Http1Version.Http10 && response.TransferCoding != TransferCoding.None;
        Request.CloseAfterResponse = head.WantsClose || _connection.Stopping || framing.Kind == BodyKind.UntilClose;
        var before = output.UnflushedBytes;

        // HEAD of an answer that GET would get rewritten (a filtered model list): the upstream's length is not its length.
        var omitLength = head.Method == RequestMethod.Head && Request.ResponseTransform is { } rewrite && rewrite.Applies(response);
        ResponseHeadWriter.Write(
            output, response, Request.Dechunk, Request.CloseAfterResponse, _connection.Context.Date.FieldLine, Request.ResponseFields.WrittenSpan,
            omitLength);
        Request.Log.BytesOut += output.UnflushedBytes - before;
        Request.Log.MarkFirstByte(_connection.Context.TimeProvider, response.StatusCode);
        Request.ResponseStarted = true;
        return HeadStep.Final;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> RelayBodyAsync(UpstreamConnection upstream)
    {
        var context = _connection.Context;
        Timeouts.ArmIdle(TimeoutReason.ResponseBody, context.Options.UpstreamIdleTimeout);
        var (result, bytes, extra) = await BodyRelay.CopyAsync(
            upstream.Input, Responses.Output, Request.ResponseFraming,
            Request.Dechunk ? ChunkedRelayMode.Dechunked : ChunkedRelayMode.Untouched,
            long.MaxValue, Timeouts, Timeouts.Token, Timeouts.WriteToken,
            context.Policies.ObservesResponseBodies ? this : null).ConfigureAwait(false);
        Request.Log.BytesOut += bytes;

        if (result == RelayResult.Completed)
        {
            // The upstream connection is reused only when the response ended exactly where its framing said.
            if (!Request.Response.WantsClose && Request.ResponseFraming.Kind != BodyKind.UntilClose && !extra)
            {
                context.Pool.Return(upstream);
            }
            else
            {
                await upstream.DisposeAsync().ConfigureAwait(false);
            }

            return !Request.CloseAfterResponse;
        }

        // A client that left makes the upstream stop generating; an upstream that died truncates the client
        // (docs/BEHAVIOUR.md#response).
        upstream.Abort();
        return result switch
        {
            RelayResult.DestinationFailed => await Responses.ReportAsync(ForwarderError.ResponseBodyClient, "client stopped taking the response").ConfigureAwait(false),
            RelayResult.Canceled => await _connection.EndCanceledAsync().ConfigureAwait(false),
            _ => await Responses.ReportAsync(ForwarderError.ResponseBodyUpstream, $"response body relay ended: {result}").ConfigureAwait(false),
        };
    }

    void IBodyObserver.OnBytes(in ReadOnlySequence<byte> bytes) => _connection.Context.Policies.OnResponseBody(Request, bytes);
}
