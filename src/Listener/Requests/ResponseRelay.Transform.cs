using System.Buffers;
using System.IO.Pipelines;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Upstream;

namespace OllamaSocketProxy.Listener;

/// <summary>Step 5 for the one kind of answer the proxy rewrites (<see cref="IResponseTransform"/>): read whole, then sent.</summary>
internal sealed partial class ResponseRelay
{
    public async ValueTask<bool> RelayTransformedAsync(UpstreamConnection upstream)
    {
        var context = _connection.Context;
        var transform = Request.ResponseTransform!;
        var framing = Request.ResponseFraming;
        if (framing.Kind == BodyKind.UntilClose || (framing.Kind == BodyKind.ContentLength && framing.Length > transform.MaxBodySize))
        {
            // Unbounded, or too large to read whole: never relayed unrewritten, since that is what the rewrite withholds.
            upstream.Abort();
            return await Responses.ReportAsync(ForwarderError.ResponseInvalid, "answer to rewrite too large or unbounded").ConfigureAwait(false);
        }

        Timeouts.ArmIdle(TimeoutReason.ResponseBody, context.Options.UpstreamIdleTimeout);
        var whole = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        var (result, _, extra) = await BodyRelay.CopyAsync(
            upstream.Input, whole.Writer, framing, ChunkedRelayMode.Dechunked, transform.MaxBodySize,
            Timeouts, Timeouts.Token, Timeouts.WriteToken).ConfigureAwait(false);
        if (result != RelayResult.Completed)
        {
            upstream.Abort();
            return result == RelayResult.Canceled
                ? await _connection.EndCanceledAsync().ConfigureAwait(false)
                : await Responses.ReportAsync(ForwarderError.ResponseInvalid, $"answer to rewrite ended: {result}").ConfigureAwait(false);
        }

        if (!Request.Response.WantsClose && !extra)
        {
            context.Pool.Return(upstream);
        }
        else
        {
            await upstream.DisposeAsync().ConfigureAwait(false);
        }

        await whole.Writer.CompleteAsync().ConfigureAwait(false);
        whole.Reader.TryRead(out var body);
        var rewritten = new ArrayBufferWriter<byte>();
        var ok = transform.TryTransform(body.Buffer, rewritten);
        await whole.Reader.CompleteAsync().ConfigureAwait(false);
        if (!ok)
        {
            return await Responses.ReportAsync(ForwarderError.ResponseInvalid, "upstream answer could not be rewritten").ConfigureAwait(false);
        }

        var output = Responses.Output;
        var before = output.UnflushedBytes;
        Request.CloseAfterResponse = Request.Head.WantsClose || _connection.Stopping;
        ResponseHeadWriter.WriteWithLength(
            output, Request.Response, rewritten.WrittenCount, Request.CloseAfterResponse, context.Date.FieldLine, Request.ResponseFields.WrittenSpan);
        if (Request.Head.Method != RequestMethod.Head)
        {
            output.Write(rewritten.WrittenSpan);
        }

        Request.Log.BytesOut += output.UnflushedBytes - before;
        Request.Log.MarkFirstByte(context.TimeProvider, Request.Response.StatusCode);
        Request.ResponseStarted = true;
        return await Responses.FlushAsync().ConfigureAwait(false) && !Request.CloseAfterResponse;
    }
}
