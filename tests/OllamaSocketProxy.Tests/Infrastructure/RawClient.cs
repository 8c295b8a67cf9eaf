using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// A client that sends exact bytes over a socket and reads responses by their framing, so tests can assert
/// byte-exact relaying. Every read is bounded by <see cref="EventTimeout"/>.
/// </summary>
public sealed class RawClient : IAsyncDisposable
{
    private const int MaxHeadLines = 1000;

    private readonly Socket socket;
    private readonly NetworkStream stream;
    private readonly ByteReader reader;

    private RawClient(Socket socket)
    {
        this.socket = socket;
        stream = new NetworkStream(socket, ownsSocket: true);
        reader = new ByteReader(stream);
    }

    /// <summary>Every byte received from the proxy so far.</summary>
    public byte[] Received => reader.Transcript;

    /// <param name="receiveBufferSize">A small SO_RCVBUF, set before connecting, for a client that stops reading early.</param>
    public static async Task<RawClient> ConnectAsync(IPEndPoint endPoint, int? receiveBufferSize = null)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        using var timeout = EventTimeout.NewSource();
        await socket.ConnectAsync(endPoint, timeout.Token);
        return new RawClient(socket);
    }

    /// <summary>Sends the text as ISO-8859-1 bytes (one byte per char) in one write.</summary>
    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        using var timeout = EventTimeout.NewSource();
        await stream.WriteAsync(bytes, timeout.Token);
    }

    /// <summary>The next response head, a 1xx included; <c>null</c> when the connection ends before a byte of it.</summary>
    public Task<ResponseHead?> TryReadHeadAsync() => GuardAsync(TryReadHeadAsync, "a response head");

    private async Task<ResponseHead?> TryReadHeadAsync(CancellationToken cancellationToken)
    {
        var raw = new MemoryStream();
        var lines = new List<string>();
        while (lines.Count <= MaxHeadLines)
        {
            var line = await reader.ReadLineAsync(cancellationToken);
            if (line.Length == 0 && raw.Length == 0)
            {
                return null;
            }

            raw.Write(line);
            if (line is not [.., (byte)'\r', (byte)'\n'])
            {
                throw new InvalidDataException($"The response head ended without CRLF or the connection closed inside it:\r\n{Encoding.Latin1.GetString(raw.ToArray())}");
            }

            if (line.Length == 2)
            {
                return ResponseHead.Parse(lines, raw.ToArray());
            }

            lines.Add(Encoding.Latin1.GetString(line, 0, line.Length - 2));
        }

        throw new InvalidDataException("The response head has too many lines.");
    }

    public async Task<ResponseHead> ReadHeadAsync() =>
        await TryReadHeadAsync() ?? throw new InvalidDataException("The proxy closed the connection without sending a response.");

    /// <summary>The next final response, skipping (and keeping) 1xx heads; <c>null</c> when the connection ends first.</summary>
    public async Task<RawResponse?> TryReadResponseAsync(string requestMethod = "GET")
    {
        var interim = new List<ResponseHead>();
        while (true)
        {
            var head = await TryReadHeadAsync();
            if (head is null)
            {
                return interim.Count == 0 ? null : throw new InvalidDataException("The connection ended after a 1xx response.");
            }

            if (!head.IsInterim)
            {
                return await ReadBodyAsync(head, requestMethod, interim);
            }

            interim.Add(head);
        }
    }

    public async Task<RawResponse> ReadResponseAsync(string requestMethod = "GET") =>
        await TryReadResponseAsync(requestMethod) ?? throw new InvalidDataException("The proxy closed the connection without sending a response.");

    /// <summary>Reads the body that belongs to <paramref name="head"/>.</summary>
    public Task<RawResponse> ReadBodyAsync(ResponseHead head, string requestMethod = "GET", IReadOnlyList<ResponseHead>? interim = null) =>
        GuardAsync(token => ReadBodyAsync(head, requestMethod, interim, token), $"the body of {head.StatusLine}");

    private async Task<RawResponse> ReadBodyAsync(ResponseHead head, string requestMethod, IReadOnlyList<ResponseHead>? interim, CancellationToken cancellationToken)
    {
        var kind = head.BodyKindFor(requestMethod);
        switch (kind)
        {
            case ResponseBodyKind.ContentLength:
                var body = await reader.ReadExactlyAsync(head.ContentLength!.Value, cancellationToken);
                return Response(body, body, body.Length == head.ContentLength);
            case ResponseBodyKind.Chunked:
                var chunks = await ChunkedBodyReader.ReadAllAsync(reader, cancellationToken);
                return Response(
                    [.. chunks.SelectMany(chunk => chunk.Raw)],
                    [.. chunks.SelectMany(chunk => chunk.Data)],
                    chunks[^1].IsLast,
                    chunks);
            case ResponseBodyKind.UntilClose:
                var rest = await reader.ReadToEndAsync(cancellationToken);
                return Response(rest, rest, !reader.WasReset);
            default:
                return Response([], [], true);
        }

        RawResponse Response(byte[] raw, byte[] content, bool complete, IReadOnlyList<RawChunk>? chunks = null) => new()
        {
            Head = head,
            Interim = interim ?? [],
            BodyKind = kind,
            RawBody = raw,
            Body = content,
            IsComplete = complete,
            Chunks = chunks ?? [],
            Trailers = chunks is [.., { IsLast: true } last] ? last.Trailers : HeaderFields.Empty,
        };
    }

    /// <summary>The next chunk of a chunked body whose head was read with <see cref="ReadHeadAsync"/>.</summary>
    public Task<RawChunk> ReadChunkAsync() => GuardAsync(token => ChunkedBodyReader.ReadChunkAsync(reader, token), "a chunk");

    /// <summary>Exactly <paramref name="count"/> bytes (fewer only if the connection ends).</summary>
    public Task<byte[]> ReadBytesAsync(int count) =>
        GuardAsync(async token => await reader.ReadExactlyAsync(count, token), $"{count} body bytes");

    /// <summary>Waits for the proxy to close the connection and returns whatever it sent before that (normally nothing).</summary>
    public Task<byte[]> ReadUntilClosedAsync() =>
        GuardAsync(async token => await reader.ReadToEndAsync(token), "the proxy to close the connection");

    /// <summary>Half-closes: sends FIN (shutdown(SHUT_WR)) and keeps reading, as <c>curl</c> piping a request might.</summary>
    public void ShutdownSend() => socket.Shutdown(SocketShutdown.Send);

    /// <summary>Closes the connection with a reset (RST), as a client that crashes or is killed would.</summary>
    public void Abort()
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    public async ValueTask DisposeAsync() => await stream.DisposeAsync();

    /// <summary>Runs one read under the failure guard; a timeout names what never came and what did.</summary>
    private async Task<T> GuardAsync<T>(Func<CancellationToken, Task<T>> read, string awaited)
    {
        using var timeout = EventTimeout.NewSource();
        try
        {
            return await read(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"Waited {EventTimeout.Limit.TotalSeconds} s for {awaited}; all the proxy sent on this connection:\r\n{Encoding.Latin1.GetString(Received)}");
        }
    }
}
