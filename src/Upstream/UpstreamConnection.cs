using System.IO.Pipelines;
using System.Net.Sockets;

namespace OllamaSocketProxy.Upstream;

/// <summary>One connection to the upstream: a socket, the TLS stream over it (or not), and pipes over that.</summary>
public sealed class UpstreamConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private int _disposed;

    internal UpstreamConnection(Socket socket, Stream stream, TimeProvider timeProvider)
    {
        _socket = socket;
        _stream = stream;
        Input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 2048, leaveOpen: true));
        Output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
        LastUsed = timeProvider.GetTimestamp();
    }

    public PipeReader Input { get; }
    public PipeWriter Output { get; }

    /// <summary>How many requests this connection has carried; 0 means it was made for the current one.</summary>
    public int RequestCount { get; set; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when it was last returned to the pool.</summary>
    internal long LastUsed { get; set; }

    /// <summary>
    /// Whether the upstream has closed (or written to) this idle connection. A readable idle socket holds either
    /// end-of-stream or bytes no request asked for: either way it must not carry a request.
    /// </summary>
    internal bool LooksClosed()
    {
        try
        {
            return _socket.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>Closes at once with a reset, so the upstream stops generating (SPEC §6).</summary>
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
        catch (SocketException)
        {
            // Already gone; nothing to reset.
        }

        _socket.Dispose();
        _stream.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Input.CompleteAsync().ConfigureAwait(false);
        await Output.CompleteAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
    }
}
