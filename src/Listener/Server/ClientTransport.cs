using System.IO.Pipelines;
using System.Net.Sockets;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// A client socket as two pipes. A receive loop fills <see cref="Input"/> and notices at once when the client
/// closes (<see cref="Closed"/>), even while the proxy is waiting for the upstream; idle connections hold no
/// buffer, because each receive first waits for data with a zero-byte read.
/// </summary>
internal sealed class ClientTransport
{
    /// <summary>
    /// Half the pipe's 4 KiB segment (as Kestrel does): a receive fills the current segment's free space rather
    /// than forcing a new segment, so a client that trickles bytes cannot make each byte cost a segment.
    /// </summary>
    private const int ReceiveSize = 2048;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly Pipe _input;
    private readonly CancellationTokenSource _closed = new();
    private readonly Task _receiving;
    private volatile bool _draining;

    public ClientTransport(Socket socket, long pauseThreshold)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        // Inline schedulers: the request loop resumes on the thread that received the bytes, with no hop
        // through the thread pool between the socket and the parser (the receive loop does nothing else).
        _input = new Pipe(new PipeOptions(
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: pauseThreshold,
            resumeWriterThreshold: pauseThreshold / 2,
            useSynchronizationContext: false));
        // 32 KiB: what one read of the upstream can bring (UpstreamConnection), so the head and a 16 KiB answer
        // go out in one send, not one per segment. The buffer is pooled and held only between a write and its flush.
        Output = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 32 * 1024, leaveOpen: true));
        _receiving = ReceiveAsync();
    }

    public PipeReader Input => _input.Reader;
    public PipeWriter Output { get; }

    /// <summary>Fires when the client has closed or reset its side.</summary>
    public CancellationToken Closed => _closed.Token;

    private async Task ReceiveAsync()
    {
        var writer = _input.Writer;
        try
        {
            // A new connection's request has usually arrived with it: the first receive takes it at once. After
            // that, each receive first waits for data with a zero-byte read, so an idle connection holds no buffer.
            while (true)
            {
                if (_draining)
                {
                    // Lingering close: read and drop what the client still sends, so closing does not reset
                    // the connection before the client has read the proxy's last response (RFC 9112 §9.6).
                    if (await DiscardAsync().ConfigureAwait(false) == 0)
                    {
                        break;
                    }
                }
                else
                {
                    var memory = writer.GetMemory(ReceiveSize);
                    var received = await _socket.ReceiveAsync(memory, SocketFlags.None).ConfigureAwait(false);
                    if (received == 0)
                    {
                        break;
                    }

                    writer.Advance(received);
                    var flush = await writer.FlushAsync().ConfigureAwait(false);
                    if (flush.IsCompleted)
                    {
                        _draining = true;
                    }
                }

                await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Reset or closed under us: the same as an end of stream for the request loop.
        }
        finally
        {
            await writer.CompleteAsync().ConfigureAwait(false);
            _closed.Cancel();
        }
    }

    private async ValueTask<int> DiscardAsync()
    {
        var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(ReceiveSize);
        try
        {
            return await _socket.ReceiveAsync(scratch, SocketFlags.None).ConfigureAwait(false);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Closes the connection. Gracefully: FIN after the last response, then the client's remaining bytes are read
    /// and dropped until it closes too or <paramref name="linger"/> passes, so a reset cannot destroy the response
    /// before the client read it (RFC 9112 §9.6). Else with a reset, so the client cannot take a truncated
    /// response for a whole one (docs/BEHAVIOUR.md#errors).
    /// </summary>
    public async ValueTask CloseAsync(bool graceful, TimeSpan linger, TimeProvider timeProvider)
    {
        _draining = true;
        await _input.Reader.CompleteAsync().ConfigureAwait(false);
        try
        {
            if (graceful)
            {
                await Output.CompleteAsync().ConfigureAwait(false);
                _socket.Shutdown(SocketShutdown.Send);
                await _receiving.WaitAsync(linger, timeProvider).ConfigureAwait(false);
            }
            else
            {
                _socket.LingerState = new LingerOption(true, 0);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or TimeoutException)
        {
            // The client is gone already, or did not close in time: close regardless.
        }

        _socket.Dispose();
        try
        {
            // Completing a second time is a no-op; after an abort it drops what was not sent.
            await Output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Nothing more can be sent anyway.
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        await _receiving.ConfigureAwait(false);
        _closed.Dispose();
    }
}
