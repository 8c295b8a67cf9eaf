using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// One connection the test upstream accepted. Requests are read ahead on their own loop, so the end of the
/// connection is noticed (<see cref="ClosedByProxy"/>) even while a handler is waiting on a gate.
/// </summary>
public sealed class UpstreamConnection
{
    private static readonly byte[] ContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();

    private readonly Socket socket;
    private readonly Stream stream;
    private readonly ByteReader reader;
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly TaskCompletionSource closedByProxy = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool closingLocally;
    private long bodyStart = -1;

    internal UpstreamConnection(int id, Socket socket, Stream stream, Action? bytesArrived = null)
    {
        Id = id;
        this.socket = socket;
        this.stream = stream;
        reader = new ByteReader(stream, bytesArrived);
        if (stream is SslStream tls)
        {
            ServerName = tls.TargetHostName;
            NegotiatedProtocol = tls.NegotiatedApplicationProtocol.ToString();
            TlsProtocol = tls.SslProtocol;
        }
    }

    /// <summary>1 for the first connection accepted, 2 for the second, ...</summary>
    public int Id { get; }

    /// <summary>Completes when the proxy closed or aborted this connection (end of stream or reset on read).</summary>
    public Task ClosedByProxy => closedByProxy.Task;

    /// <summary>Completes when this side is done with the connection, whoever closed it.</summary>
    public Task Finished => finished.Task;

    public long BytesReceived => reader.BytesRead;

    /// <summary>
    /// Bytes received after the head of the latest request: its body so far, chunk framing included (0 before a head).
    /// A test that trickles a body awaits this as the event that its bytes went through.
    /// </summary>
    public long BodyBytesReceived => Interlocked.Read(ref bodyStart) is >= 0 and var start ? BytesReceived - start : 0;

    /// <summary>Whether the proxy ended this connection with a reset (an abort), not with a clean close.</summary>
    public bool ResetByProxy => ClosedByProxy.IsCompleted && reader.WasReset;

    /// <summary>The SNI host name the proxy sent in its TLS handshake; <c>null</c> on plain TCP.</summary>
    public string? ServerName { get; }

    /// <summary>The TLS version agreed in the handshake; <c>null</c> on plain TCP.</summary>
    public System.Security.Authentication.SslProtocols? TlsProtocol { get; }

    /// <summary>The ALPN protocol agreed in the TLS handshake (empty when none); <c>null</c> on plain TCP.</summary>
    public string? NegotiatedProtocol { get; }

    internal async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await writeLock.WaitAsync(cancellationToken);
        try
        {
            await stream.WriteAsync(bytes, cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }
        finally
        {
            writeLock.Release();
        }
    }

    /// <summary>Closes with a reset (RST), as a crashing or unplugged origin would.</summary>
    internal void Abort()
    {
        closingLocally = true;
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        socket.Close();
    }

    internal async Task RunAsync(TestUpstream owner, CancellationToken stopping)
    {
        var requests = Channel.CreateUnbounded<ReceivedRequest>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var reading = ReadRequestsAsync(owner, requests.Writer, stopping);
        try
        {
            await foreach (var request in requests.Reader.ReadAllAsync(stopping))
            {
                var exchange = new UpstreamExchange(this, request, stopping);
                await owner.Handler(exchange);
                if (exchange.AbortRequested)
                {
                    break;
                }

                if (exchange.CloseRequested)
                {
                    closingLocally = true;
                    if (stream is SslStream tls)
                    {
                        await tls.ShutdownAsync();
                    }

                    socket.Shutdown(SocketShutdown.Send);
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or TimeoutException)
        {
            // The proxy went away while the handler wrote, or the test is over.
        }
        finally
        {
            closingLocally = true;
            socket.Close();
            await reading;
            await stream.DisposeAsync();
            finished.TrySetResult();
        }
    }

    private async Task ReadRequestsAsync(TestUpstream owner, ChannelWriter<ReceivedRequest> requests, CancellationToken stopping)
    {
        try
        {
            while (await UpstreamRequestReader.ReadAsync(reader, Id, SendContinueAsync, OnHeadReceived, stopping) is { } request)
            {
                owner.OnRequestReceived(request);
                await requests.WriteAsync(request, stopping);
            }
        }
        catch (IncompleteRequestException e)
        {
            owner.OnIncompleteRequest(e.Raw);

            // Broken framing need not be the end: keep reading so ClosedByProxy still means the proxy closed.
            try
            {
                await reader.ReadToEndAsync(stopping);
            }
            catch (OperationCanceledException)
            {
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidDataException)
        {
        }
        finally
        {
            if (!closingLocally)
            {
                closedByProxy.TrySetResult();
            }

            requests.TryComplete();
            owner.OnReadingEnded();
        }

        Task SendContinueAsync() => WriteAsync(ContinueResponse, stopping);

        void OnHeadReceived()
        {
            Interlocked.Exchange(ref bodyStart, reader.Consumed);
            owner.OnHeadReceived();
        }
    }
}
