using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener.Admin;

/// <summary>
/// One admin connection: read a head, answer it, and again while the connection is kept alive. Every wait is bounded:
/// a head must be complete within <see cref="AdminServer.HeadTimeout"/> of the wait for it (on a new connection and
/// between requests alike), an answer must be written within <see cref="AnswerTimeout"/>, and a connection serves at
/// most <see cref="MaxRequests"/>. Request bodies are never read: a request that announces one is answered, and the
/// connection closed, so its body is never taken for the next request.
/// </summary>
/// <remarks>
/// Keep-alive is allowed because a dashboard polls <c>/status</c> every few seconds and Prometheus scrapes on one
/// connection; bounded, because the admin listener holds few connections (<see cref="AdminServer.MaxConnections"/>)
/// and an idle one must give its place back soon.
/// </remarks>
internal sealed class AdminConnection(Socket socket, AdminServer server)
{
    /// <summary>Requests served on one connection before it is closed (with <c>Connection: close</c> on the last).</summary>
    public const int MaxRequests = 100;

    /// <summary>Time to compute and write one answer; a <c>/usage</c> query and a client that reads slowly share it.</summary>
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Bytes read and dropped after the last answer at most, so the close sends no reset (RFC 9112 §9.6).</summary>
    private const int MaxLingerBytes = 64 * 1024;

    /// <summary>The head, request line included, is at most 8 KiB: the admin listener's paths and queries are short.</summary>
    private static readonly RequestLimits s_limits = new() { MaxRequestLineSize = 8 * 1024, MaxHeadSize = 8 * 1024, MaxHeaderCount = 64 };

    private string? _peer;

    /// <summary>The client's address, formatted once; read before the socket is disposed (after, it throws).</summary>
    private string Peer => _peer ??= PeerOf(socket);

    /// <summary>Closes the socket now: the server is stopping. A read or write under way fails, and the loop ends.</summary>
    public void Abort() => socket.Dispose();

    public async Task RunAsync()
    {
        _ = Peer;
        NetworkStream stream;
        try
        {
            stream = new NetworkStream(socket, ownsSocket: true);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Reset before the first read, or aborted by a stop.
            socket.Dispose();
            return;
        }

        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true));
        using var deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, server.Time);
        var head = new RequestHead();
        var body = new ArrayBufferWriter<byte>(4096);
        var response = new ArrayBufferWriter<byte>(4096);
        var reason = "closed by the client";
        try
        {
            for (var served = 1; ; served++)
            {
                deadline.CancelAfter(server.HeadTimeout);
                if (!await ReadHeadAsync(input, head, deadline.Token).ConfigureAwait(false))
                {
                    break;
                }

                // A body would be read as the next request: its request is the connection's last.
                var close = head.WantsClose || served == MaxRequests || server.Stopping || HasBody(head);
                deadline.CancelAfter(AnswerTimeout);
                body.ResetWrittenCount();
                var reply = await server.Responder.AnswerAsync(head, body, deadline.Token).ConfigureAwait(false);

                // A client without the token does not keep one of the listener's few connections.
                close |= reply.Status is 401 or 403;
                response.ResetWrittenCount();
                AdminResponses.Write(response, reply, body.WrittenSpan, server.Date.FieldLine, close, headOnly: head.Method == RequestMethod.Head);
                Log(head, reply.Status);
                await stream.WriteAsync(response.WrittenMemory, deadline.Token).ConfigureAwait(false);
                if (close)
                {
                    reason = "answered its last request";
                    await LingerAsync(input, deadline).ConfigureAwait(false);
                    break;
                }
            }
        }
        catch (RequestRejectionException e)
        {
            reason = e.Message;
            response.ResetWrittenCount();
            LocalResponse.WriteRejection(response, e.Reason, server.Date.FieldLine);
            await WriteLastAsync(stream, input, response, deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            reason = server.Stopping ? "stopping" : "timed out";
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            reason = server.Stopping ? "stopping" : $"connection lost: {e.Message}";
        }
        catch (Exception e)
        {
            reason = "unexpected error";
            AdminLog.Unexpected(server.Logger, e, Peer);
        }
        finally
        {
            head.Reset();
            await input.CompleteAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
        }

        AdminLog.Closed(server.Logger, Peer, reason);
    }

    /// <summary>
    /// Reads until a whole head is in <paramref name="head"/> (its bytes copied out of the pipe); false when the client
    /// closed first, with or without part of a head. Throws <see cref="RequestRejectionException"/> on a malformed or
    /// oversized head, and <see cref="OperationCanceledException"/> when the deadline passes.
    /// </summary>
    private static async ValueTask<bool> ReadHeadAsync(PipeReader input, RequestHead head, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            var consumed = buffer.Start;
            var examined = buffer.End;
            try
            {
                if (TryParse(buffer, head, out var end))
                {
                    head.KeepBytes();
                    consumed = examined = end;
                    return true;
                }

                if (read.IsCompleted || read.IsCanceled)
                {
                    return false;
                }
            }
            finally
            {
                input.AdvanceTo(consumed, examined);
            }
        }
    }

    private static bool TryParse(in ReadOnlySequence<byte> buffer, RequestHead head, out SequencePosition end)
    {
        var reader = new SequenceReader<byte>(buffer);
        var parsed = RequestHeadParser.TryParse(ref reader, s_limits, head);
        end = reader.Position;
        return parsed;
    }

    /// <summary>A request that announces content, or whose framing cannot be read (RFC 9112 §6.3).</summary>
    private static bool HasBody(RequestHead head) =>
        (head.HasContentLength && head.ContentLength > 0) || head.HasInvalidContentLength || head.TransferCoding != TransferCoding.None;

    /// <summary>
    /// Closes the sending side, then reads and drops what the client still sends, until it closes, for at most
    /// <see cref="ClientResponses.Linger"/> (as the API port) and <see cref="MaxLingerBytes"/>: a close with unread bytes sends a reset, which could
    /// take the answer with it before the client read it (RFC 9112 §9.6).
    /// </summary>
    private async ValueTask LingerAsync(PipeReader input, CancellationTokenSource deadline)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
            deadline.CancelAfter(ClientResponses.Linger);
            long dropped = 0;
            while (dropped < MaxLingerBytes)
            {
                var read = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
                dropped += read.Buffer.Length;
                input.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Gone, or still sending when the linger ended: closed all the same.
        }
    }

    /// <summary>The answer to a refused head, then the close; the client may be gone already.</summary>
    private async ValueTask WriteLastAsync(NetworkStream stream, PipeReader input, ArrayBufferWriter<byte> response, CancellationTokenSource deadline)
    {
        try
        {
            deadline.CancelAfter(AnswerTimeout);
            await stream.WriteAsync(response.WrittenMemory, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return; // gone, or not reading
        }

        await LingerAsync(input, deadline).ConfigureAwait(false);
    }

    private void Log(RequestHead head, int status)
    {
        if (!server.Logger.IsEnabled(LogLevel.Debug))
        {
            return;
        }

        var target = head.Target;
        var query = target.IndexOf((byte)'?');
        AdminLog.Answered(server.Logger, Peer, Encoding.ASCII.GetString(head.MethodBytes), Encoding.ASCII.GetString(query < 0 ? target : target[..query]), status);
    }

    private static string PeerOf(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint?.ToString() ?? "unknown";
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return "unknown";
        }
    }
}
