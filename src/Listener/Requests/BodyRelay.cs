using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>How chunked framing is passed on.</summary>
internal enum ChunkedRelayMode
{
    /// <summary>Every byte untouched, trailers included (responses to HTTP/1.1 clients).</summary>
    Untouched,

    /// <summary>Untouched up to the last chunk, which goes on as <c>0\r\n\r\n</c> without trailers (request bodies: docs/BEHAVIOUR.md#forwarded-request).</summary>
    WithoutTrailers,

    /// <summary>Only the chunk data (responses to HTTP/1.0 clients: docs/BEHAVIOUR.md#response).</summary>
    Dechunked,
}

/// <summary>Sees the bytes of a body exactly as they are written to the destination (a usage counter, say).</summary>
internal interface IBodyObserver
{
    void OnBytes(in ReadOnlySequence<byte> bytes);
}

/// <summary>How a relay ended; the caller knows from it which side failed, and says so in its log line.</summary>
internal enum RelayResult
{
    Completed,

    /// <summary>The source ended before its framing said the body was complete.</summary>
    SourceEnded,

    /// <summary>The source's chunked framing is malformed.</summary>
    SourceInvalid,

    /// <summary>The source failed with an error.</summary>
    SourceFailed,

    /// <summary>More body than the limit.</summary>
    TooLarge,

    /// <summary>Writing to the destination failed.</summary>
    DestinationFailed,

    /// <summary>The connection's token fired (timeout, client gone, shutdown).</summary>
    Canceled,
}

/// <summary>
/// Copies one message body from a pipe to a pipe, as it arrives: one write and one flush per read, never a
/// buffered stream (docs/BEHAVIOUR.md#response). Framing is followed so the copy stops exactly at the end of the message.
/// </summary>
internal static class BodyRelay
{
    /// <param name="extraSourceBytes">Set when the source held bytes past the end of the body (no reuse then).</param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<(RelayResult Result, long Bytes, bool ExtraSourceBytes)> CopyAsync(
        PipeReader source, PipeWriter destination, BodyFraming framing, ChunkedRelayMode mode,
        long maxBytes, TimeoutControl timeouts, CancellationToken readToken, CancellationToken flushToken,
        IBodyObserver? observer = null)
    {
        var state = new CopyState(framing, mode, maxBytes, observer);
        if (framing.Kind == BodyKind.None || (framing.Kind == BodyKind.ContentLength && framing.Length == 0))
        {
            // Nothing to read: a read here would wait for bytes that never come. Bytes already buffered after the
            // head belong to no message (RFC 9112 §6.3): they make the source unfit for another one.
            var extra = false;
            if (source.TryRead(out var pending))
            {
                extra = !pending.Buffer.IsEmpty;
                source.AdvanceTo(pending.Buffer.Start);
            }

            return (await FlushAsync(destination, complete: true, flushToken).ConfigureAwait(false), 0, extra);
        }

        // The caller started the phase's deadline for the first read; it is re-armed before every later one.
        while (true)
        {
            ReadResult read;
            try
            {
                read = await source.ReadAsync(readToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return (RelayResult.Canceled, state.Bytes, false);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                return (RelayResult.SourceFailed, state.Bytes, false);
            }

            var buffer = read.Buffer;
            var consumed = state.Copy(buffer, read.IsCompleted, destination, out var result);
            var extra = state.IsComplete && buffer.Slice(consumed).Length > 0;

            // Once the body is complete, what follows is the next message (pipelining): not examined yet.
            source.AdvanceTo(consumed, state.IsComplete ? consumed : buffer.End);

            if (result != RelayResult.Completed)
            {
                return (result, state.Bytes, false);
            }

            result = await FlushAsync(destination, state.IsComplete, flushToken).ConfigureAwait(false);
            if (result != RelayResult.Completed)
            {
                return (result, state.Bytes, false);
            }

            if (state.IsComplete)
            {
                return (RelayResult.Completed, state.Bytes, extra);
            }

            if (read.IsCompleted)
            {
                return (RelayResult.SourceEnded, state.Bytes, false);
            }

            timeouts.Rearm(state.Bytes);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<RelayResult> FlushAsync(PipeWriter destination, bool complete, CancellationToken cancellationToken)
    {
        try
        {
            var flush = await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
            return flush.IsCompleted && !complete ? RelayResult.DestinationFailed : RelayResult.Completed;
        }
        catch (OperationCanceledException)
        {
            return RelayResult.Canceled;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            return RelayResult.DestinationFailed;
        }
    }

    /// <summary>Where a copy stands between reads.</summary>
    private struct CopyState(BodyFraming framing, ChunkedRelayMode mode, long maxBytes, IBodyObserver? observer)
    {
        private long _remaining = framing.Length;
        private ChunkedParser _chunked;

        /// <summary>Body bytes moved so far (chunk data only, for chunked bodies).</summary>
        public long Bytes { get; private set; }

        public bool IsComplete { get; private set; }

        /// <summary>Writes what <paramref name="buffer"/> holds of the body; returns how far it was consumed.</summary>
        public SequencePosition Copy(ReadOnlySequence<byte> buffer, bool sourceEnded, PipeWriter destination, out RelayResult result)
        {
            result = RelayResult.Completed;
            switch (framing.Kind)
            {
                case BodyKind.ContentLength:
                    var take = Math.Min(_remaining, buffer.Length);
                    Write(destination, buffer.Slice(0, take));
                    _remaining -= take;
                    Bytes += take;
                    IsComplete = _remaining == 0;
                    return buffer.GetPosition(take);

                case BodyKind.UntilClose:
                    Write(destination, buffer);
                    Bytes += buffer.Length;
                    IsComplete = sourceEnded;
                    return buffer.End;

                case BodyKind.Chunked:
                    return CopyChunked(buffer, destination, out result);

                default:
                    IsComplete = true;
                    return buffer.Start;
            }
        }

        private SequencePosition CopyChunked(ReadOnlySequence<byte> buffer, PipeWriter destination, out RelayResult result)
        {
            result = RelayResult.Completed;
            var reader = new SequenceReader<byte>(buffer);

            // Bytes that pass on unchanged are written in runs as long as possible: one write per read, usually.
            var pending = reader.Position;
            while (!_chunked.IsComplete)
            {
                var runStart = reader.Position;
                var status = _chunked.TryRead(ref reader, out var run, out var length);
                if (status == ChunkedStatus.NeedMore)
                {
                    break;
                }

                if (status == ChunkedStatus.Invalid)
                {
                    result = RelayResult.SourceInvalid;
                    return runStart;
                }

                if (run == ChunkRun.Data)
                {
                    Bytes += length;
                    if (Bytes > maxBytes)
                    {
                        result = RelayResult.TooLarge;
                        return runStart;
                    }
                }

                if (!IsPassedOn(run))
                {
                    Write(destination, buffer.Slice(pending, runStart));
                    pending = reader.Position;
                }
            }

            Write(destination, buffer.Slice(pending, reader.Position));
            if (_chunked.IsComplete)
            {
                IsComplete = true;
                if (mode == ChunkedRelayMode.WithoutTrailers)
                {
                    destination.Write("0\r\n\r\n"u8);
                }
            }

            return reader.Position;
        }

        private readonly bool IsPassedOn(ChunkRun run) => mode switch
        {
            ChunkedRelayMode.Untouched => true,
            ChunkedRelayMode.WithoutTrailers => run is ChunkRun.Framing or ChunkRun.Data,
            _ => run == ChunkRun.Data,
        };

        private readonly void Write(PipeWriter destination, ReadOnlySequence<byte> bytes)
        {
            observer?.OnBytes(bytes);
            foreach (var segment in bytes)
            {
                destination.Write(segment.Span);
            }
        }
    }
}
