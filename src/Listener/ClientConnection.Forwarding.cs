using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Upstream;

namespace OllamaSocketProxy.Listener;

/// <summary>Steps 3 to 5: the request goes upstream, the response comes back.</summary>
internal sealed partial class ClientConnection
{
    /// <summary>How reading a response head ended.</summary>
    private enum HeadOutcome
    {
        /// <summary>A final response head was read and written to the client.</summary>
        Relayed,

        /// <summary>The upstream closed or reset before sending a byte of response.</summary>
        UpstreamClosed,

        /// <summary>The upstream sent bytes that are not a response head (or a truncated one).</summary>
        Invalid,

        /// <summary>The connection's token fired: see <see cref="PhaseTimer.Cause"/>.</summary>
        Canceled,
    }

    /// <summary>The upstream connection whose idle read this request waits on; aborted if the token fires.</summary>
    private UpstreamConnection? _awaitedUpstream;

    // The final response of the current request, once its head is relayed.
    private BodyFraming _responseFraming;
    private bool _dechunk;
    private bool _closeAfterResponse;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ForwardAsync(ReadResult read, SequencePosition headEnd, ForwardPlan plan)
    {
        // :: Step 3 Send the rewritten request upstream. The response timeout bounds it all from here: connecting
        // (which also has its own, shorter timeout), sending, and waiting for the head. A streamed body has its rate
        // deadline instead, and the response timeout starts again once that body is out.
        _timer.StartFixed(_context.Options.UpstreamResponseTimeout);
        var upstream = await RentAsync(fresh: false).ConfigureAwait(false);
        if (upstream is null)
        {
            return false;
        }

        try
        {
            return await ExchangeAsync(upstream, read, headEnd, plan).ConfigureAwait(false);
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
    private async ValueTask<bool> ExchangeAsync(UpstreamConnection upstream, ReadResult read, SequencePosition headEnd, ForwardPlan plan)
    {
        var input = _transport.Input;
        var buffer = read.Buffer;
        HeadOutcome outcome;
        if (plan.BodyHeld)
        {
            // The whole request is in `buffer` and stays there until the response comes, so it can be sent again.
            var requestEnd = buffer.GetPosition(plan.Framing.Kind == BodyKind.None ? 0 : plan.Framing.Length, headEnd);
            var sent = await SendHeldRequestAsync(upstream, plan, buffer.Slice(headEnd, requestEnd)).ConfigureAwait(false);
            input.AdvanceTo(requestEnd);
            if (sent.Upstream is null)
            {
                return false;
            }

            (upstream, outcome) = (sent.Upstream, sent.Outcome);
        }
        else
        {
            WriteRequestHead(upstream.Output, plan);
            input.AdvanceTo(headEnd);
            if (!await SendStreamedBodyAsync(upstream, plan).ConfigureAwait(false))
            {
                return false;
            }

            _timer.StartFixed(_context.Options.UpstreamResponseTimeout);
            outcome = await ReadResponseHeadAsync(upstream).ConfigureAwait(false);
        }

        // :: Step 4 The response head was relayed, or this is the error to report.
        if (outcome != HeadOutcome.Relayed)
        {
            upstream.Abort();
            return await ReportHeadFailureAsync(outcome).ConfigureAwait(false);
        }

        // :: Step 5 The body, as it arrives.
        return await RelayResponseBodyAsync(upstream).ConfigureAwait(false);
    }

    private void WriteRequestHead(PipeWriter output, ForwardPlan plan) =>
        _context.Rewriter.WriteHead(output, _request, plan.Target, plan.Framing, _forwardedFor);

    /// <summary>
    /// Sends a request whose body is held whole. A pooled connection that fails before a byte of response came
    /// back had most likely been closed by the upstream while idle: an idempotent request goes once more on a new
    /// one (SPEC §7, narrowed by RFC 9110 §9.2.2).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(UpstreamConnection? Upstream, HeadOutcome Outcome)> SendHeldRequestAsync(
        UpstreamConnection upstream, ForwardPlan plan, ReadOnlySequence<byte> body)
    {
        while (true)
        {
            WriteRequestHead(upstream.Output, plan);
            foreach (var segment in body)
            {
                upstream.Output.Write(segment.Span);
            }

            HeadOutcome outcome;
            try
            {
                outcome = await FlushUpstreamAsync(upstream).ConfigureAwait(false)
                    ? await ReadResponseHeadAsync(upstream).ConfigureAwait(false)
                    : HeadOutcome.UpstreamClosed;
            }
            catch (OperationCanceledException)
            {
                // The response timeout, the shutdown or the client's leaving came while the request was still going out.
                return (upstream, HeadOutcome.Canceled);
            }
            if (outcome != HeadOutcome.UpstreamClosed || !upstream.FromPool || !IsIdempotent(_request.Method))
            {
                return (upstream, outcome);
            }

            ProxyLog.Retrying(_context.Log, Client, "pooled connection closed before a response");
            upstream.Abort();
            // The new attempt gets the whole response timeout again (the first was armed in ForwardAsync).
            _timer.StartFixed(_context.Options.UpstreamResponseTimeout);
            var fresh = await RentAsync(fresh: true).ConfigureAwait(false);
            if (fresh is null)
            {
                return (null, outcome);
            }

            upstream = fresh;
        }
    }

    /// <summary>
    /// RFC 9110 §9.2.2: a proxy MUST NOT retry a non-idempotent request on its own. A POST the upstream may already
    /// have read would run (and be billed) twice; for those, only the check before use (SPEC §7) replaces a
    /// pooled connection the upstream has closed.
    /// </summary>
    private static bool IsIdempotent(RequestMethod method) =>
        method is RequestMethod.Get or RequestMethod.Head or RequestMethod.Options or RequestMethod.Put or RequestMethod.Delete;

    /// <summary>Relays a body the proxy does not hold: chunked, large, or after 100-continue.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendStreamedBodyAsync(UpstreamConnection upstream, ForwardPlan plan)
    {
        if (_request.ExpectsContinue)
        {
            // RFC 9110 §10.1.1: the caller is authenticated; it may send the body now. Expect was not forwarded.
            ClientOutput.Write(LocalResponse.Continue);
            if (!await FlushClientAsync().ConfigureAwait(false))
            {
                upstream.Abort();
                return false;
            }
        }

        _timer.StartRate(_context.Options.MinRequestBodyRate, _context.Options.MinRequestBodyRateGrace);
        var (result, _, _) = await BodyRelay.CopyAsync(
            _transport.Input, upstream.Output, plan.Framing, ChunkedRelayMode.WithoutTrailers,
            _context.Options.MaxRequestBodySize, _timer, _timer.Token, _timer.Token).ConfigureAwait(false);
        if (result == RelayResult.Completed)
        {
            return true;
        }

        // SPEC §5: a body that ends early is never completed upstream: the connection is aborted, no last chunk sent.
        upstream.Abort();
        switch (result)
        {
            case RelayResult.SourceInvalid:
                RequestRejections.Throw(RequestRejection.InvalidChunkedBody);
                break;
            case RelayResult.TooLarge:
                RequestRejections.Throw(RequestRejection.BodyTooLarge);
                break;
            case RelayResult.Canceled when _timer.Cause == CancelCause.Timeout:
                RequestRejections.Throw(RequestRejection.RequestBodyTimeout);
                break;
            case RelayResult.DestinationFailed:
                return await ReportAsync(ForwarderError.RequestUpstream, "upstream failed while the request body was sent").ConfigureAwait(false);
        }

        return await ReportAsync(ForwarderError.RequestBodyClient, $"request body relay ended: {result}").ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<UpstreamConnection?> RentAsync(bool fresh)
    {
        try
        {
            return fresh
                ? await _context.Pool.ConnectAsync(_timer.Token).ConfigureAwait(false)
                : await _context.Pool.RentAsync(_timer.Token).ConfigureAwait(false);
        }
        catch (UpstreamConnectException e)
        {
            var error = e.Failure switch
            {
                UpstreamConnectFailure.Tls => ForwarderError.UpstreamTls,
                UpstreamConnectFailure.Timeout => ForwarderError.UpstreamConnectTimeout,
                _ => ForwarderError.UpstreamUnreachable,
            };
            await ReportAsync(error, e.Message).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException)
        {
            // The response timeout (armed before renting), the shutdown, or the client's leaving.
            await ReportHeadFailureAsync(HeadOutcome.Canceled).ConfigureAwait(false);
            return null;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FlushUpstreamAsync(UpstreamConnection upstream)
    {
        try
        {
            var flush = await upstream.Output.FlushAsync(_timer.Token).ConfigureAwait(false);
            return !flush.IsCompleted;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reads response heads until a final one, relaying interim ones the client can use (never 100, which the proxy
    /// already answered, nor 101), and writes the final head to the client without flushing it when body bytes follow.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<HeadOutcome> ReadResponseHeadAsync(UpstreamConnection upstream)
    {
        // The response timeout was armed once for this attempt, before the request went out.
        // While the idle read waits, a firing token aborts the connection (the one registration of the
        // connection, in the constructor); the token then says why the wait ended.
        Volatile.Write(ref _awaitedUpstream, upstream);
        try
        {
            if (_timer.Token.IsCancellationRequested)
            {
                upstream.Abort();
            }

            await upstream.WaitForResponseAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            return _timer.Token.IsCancellationRequested ? HeadOutcome.Canceled : HeadOutcome.UpstreamClosed;
        }
        finally
        {
            Volatile.Write(ref _awaitedUpstream, null);
        }

        if (_timer.Token.IsCancellationRequested)
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
                read = await input.ReadAsync(_timer.Token).ConfigureAwait(false);
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
            bool final;
            SequencePosition consumed;
            try
            {
                if (!TryRelayResponseHead(buffer, out consumed, out final))
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    if (read.IsCompleted)
                    {
                        return received ? HeadOutcome.Invalid : HeadOutcome.UpstreamClosed;
                    }

                    continue;
                }
            }
            catch (InvalidResponseException)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                return HeadOutcome.Invalid;
            }

            var bodyFollows = buffer.Slice(consumed).Length > 0;
            input.AdvanceTo(consumed);
            if (!final || !bodyFollows)
            {
                // No body bytes yet: the head goes to the client now, not with the first chunk (SPEC §6).
                if (!await FlushClientAsync().ConfigureAwait(false))
                {
                    return HeadOutcome.Canceled;
                }
            }

            if (final)
            {
                return HeadOutcome.Relayed;
            }
        }
    }

    private bool TryRelayResponseHead(ReadOnlySequence<byte> buffer, out SequencePosition consumed, out bool final)
    {
        var reader = new SequenceReader<byte>(buffer);
        consumed = buffer.Start;
        final = false;
        if (!ResponseHeadParser.TryParse(ref reader, _response))
        {
            return false;
        }

        consumed = reader.Position;
        if (_response.IsInterim)
        {
            // RFC 9110 §15.2: 1xx goes only to HTTP/1.1 clients; 101 would switch protocols the proxy does not relay.
            if (_response.StatusCode == 101)
            {
                throw new InvalidResponseException("upstream switched protocols");
            }

            if (_response.StatusCode != 100 && _request.Version == Http1Version.Http11)
            {
                ResponseHeadWriter.Write(ClientOutput, _response, dechunk: false, close: false, dateField: default);
            }

            return true;
        }

        final = true;
        _responseFraming = BodyFraming.ForResponse(_request.Method, _response);

        // SPEC §6: broken chunk framing is a 502 while nothing was sent. The chunk bytes that came with the head
        // are checked before the head goes out; framing broken in a later read can only abort.
        if (_responseFraming.Kind == BodyKind.Chunked && !ChunkedParser.IsPlausiblePrefix(buffer.Slice(consumed)))
        {
            throw new InvalidResponseException("upstream sent broken chunked framing");
        }

        // SPEC §6: an HTTP/1.0 client never sees Transfer-Encoding, also on a bodiless response (HEAD, 204, 304).
        _dechunk = _request.Version == Http1Version.Http10 && _response.TransferCoding != TransferCoding.None;
        _closeAfterResponse = _request.WantsClose || Stopping || _responseFraming.Kind == BodyKind.UntilClose;
        var before = ClientOutput.UnflushedBytes;
        ResponseHeadWriter.Write(ClientOutput, _response, _dechunk, _closeAfterResponse, _context.Date.FieldLine);
        _bytesOut += ClientOutput.UnflushedBytes - before;
        _status = _response.StatusCode;
        _responseStarted = true;
        _firstByte = _context.TimeProvider.GetTimestamp();
        return true;
    }

    private Task<bool> ReportHeadFailureAsync(HeadOutcome outcome) => outcome switch
    {
        HeadOutcome.UpstreamClosed => ReportAsync(ForwarderError.ResponseHeadUpstream, "upstream closed before a response head"),
        HeadOutcome.Invalid => ReportAsync(ForwarderError.ResponseInvalid, "malformed response head"),
        _ when _timer.Cause == CancelCause.Timeout => ReportAsync(ForwarderError.ResponseHeadTimeout, "no response head within PROXY_UPSTREAM_RESPONSE_TIMEOUT"),
        _ when _timer.Cause == CancelCause.Shutdown => ReportAsync(ForwarderError.ShutdownTimeout, "no response head before the shutdown grace period ended"),
        _ => ReportAsync(ForwarderError.ResponseBodyClient, $"gave up waiting for the response head: {_timer.Cause}"),
    };

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RelayResponseBodyAsync(UpstreamConnection upstream)
    {
        _timer.StartIdle(_context.Options.UpstreamIdleTimeout);
        var (result, bytes, extra) = await BodyRelay.CopyAsync(
            upstream.Input, ClientOutput, _responseFraming,
            _dechunk ? ChunkedRelayMode.Dechunked : ChunkedRelayMode.Untouched,
            long.MaxValue, _timer, _timer.Token, _timer.WriteToken).ConfigureAwait(false);
        _bytesOut += bytes;

        if (result == RelayResult.Completed)
        {
            // The upstream connection is reused only when the response ended exactly where its framing said.
            var reusable = !_response.WantsClose && _responseFraming.Kind != BodyKind.UntilClose && !extra;
            if (reusable)
            {
                upstream.RequestCount++;
                _context.Pool.Return(upstream);
            }
            else
            {
                await upstream.DisposeAsync().ConfigureAwait(false);
            }

            LogAccess();
            return !_closeAfterResponse;
        }

        // SPEC §6: a client that left makes the upstream stop generating; an upstream that died truncates the client.
        upstream.Abort();
        var error = (result, _timer.Cause) switch
        {
            (RelayResult.DestinationFailed, _) or (RelayResult.Canceled, CancelCause.ClientGone) => ForwarderError.ResponseBodyClient,
            (RelayResult.Canceled, CancelCause.Shutdown) => ForwarderError.ShutdownTimeout,
            _ => ForwarderError.ResponseBodyUpstream,
        };
        return await ReportAsync(error, $"response body relay ended: {result} ({_timer.Cause})").ConfigureAwait(false);
    }
}
