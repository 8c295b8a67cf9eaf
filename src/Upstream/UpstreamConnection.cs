using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace OllamaSocketProxy.Upstream;

/// <summary>One connection to the upstream: a socket, the TLS stream over it (or not), and pipes over that.</summary>
public sealed class UpstreamConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private ValueTask<int> _idleRead;
    private bool _watchingIdle;
    private int _disposed;

    internal UpstreamConnection(Socket socket, Stream stream, TimeProvider timeProvider)
    {
        _socket = socket;
        _stream = stream;
        // 32 KiB: SslStream hands over every whole TLS record it holds that fits, so a head and a 16 KiB body
        // (two records) come in one read and go to the client with one flush. Returned to the pool once consumed.
        Input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 32 * 1024, minimumReadSize: 2048, leaveOpen: true));
        Output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
        LastUsed = timeProvider.GetTimestamp();
    }

    public PipeReader Input { get; }
    public PipeWriter Output { get; }

    /// <summary>
    /// It waited in the pool (after a response, or prewarmed) before this request: a failure before a byte of
    /// response most likely means the upstream closed it while it was idle.
    /// </summary>
    public bool FromPool { get; internal set; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when it was last returned to the pool.</summary>
    internal long LastUsed { get; set; }

    /// <summary>
    /// While idle in the pool, a zero-byte read waits on the connection, as SocketsHttpHandler does. It completes
    /// only when the upstream closes or sends what nobody asked for; TLS 1.3 session tickets, which make a plain
    /// poll() report the socket readable, are taken in by <see cref="System.Net.Security.SslStream"/> on the way.
    /// </summary>
    internal void WatchWhileIdle()
    {
        _idleRead = _stream.ReadAsync(Memory<byte>.Empty);
        _watchingIdle = true;
    }

    /// <summary>The idle read completed: end of stream or unrequested bytes; either way it must not carry a request.</summary>
    internal bool ClosedWhileIdle => _watchingIdle && _idleRead.IsCompleted;

    /// <summary>
    /// Waits for the first response bytes through the idle read (a stream takes one read at a time) before
    /// <see cref="Input"/> may read. The read takes no token: to give up, the caller aborts the connection
    /// (a registration per request would allocate), then checks its own token.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WaitForResponseAsync()
    {
        if (!_watchingIdle)
        {
            return;
        }

        _watchingIdle = false;
        await _idleRead.ConfigureAwait(false);
    }

    /// <summary>Closes at once with a reset, so the upstream stops generating (docs/BEHAVIOUR.md#errors).</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone; nothing to reset.
        }

        _socket.Dispose();
        _stream.Dispose();
        CompletePipes();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _socket.Dispose();
        await _stream.DisposeAsync().ConfigureAwait(false);
        CompletePipes();
        if (_watchingIdle)
        {
            _watchingIdle = false;
            try
            {
                await _idleRead.ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // The idle read ends with the connection; its error is expected.
            }
        }
    }

    /// <summary>Returns the pipes' pooled buffers; the stream under them is gone already.</summary>
    private void CompletePipes()
    {
        try
        {
            Input.Complete();
            Output.Complete();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Completing a pipe over a closed stream may try to flush; nothing more can be sent.
        }
    }
}
