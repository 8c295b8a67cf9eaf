using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Server;

/// <summary>
/// <see cref="ClientTransport"/> over a real loopback socket pair: what the client sends reaches <c>Input</c>, the
/// client's FIN or reset completes it and fires <c>Closed</c>; a graceful close sends FIN after the last response and
/// reads and drops what the client still sends until it closes too or the linger passes (RFC 9112 §9.6); an abortive
/// close resets (docs/BEHAVIOUR.md#errors).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ClientTransportTests
{
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(2);

    [Test]
    public async Task BytesFromTheClient_ReachInput()
    {
        await using var pair = await SocketPair.ConnectAsync();

        await pair.Client.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n"));
        var received = await ReadAsync(pair.Transport.Input, 16);

        Assert.That(received, Is.EqualTo("GET / HTTP/1.1\r\n"));
    }

    [Test]
    public async Task ClientFin_CompletesInputAndFiresClosed()
    {
        await using var pair = await SocketPair.ConnectAsync();
        var closed = Fired(pair.Transport.Closed);

        await pair.Client.SendAsync(Encoding.ASCII.GetBytes("last"));
        pair.Client.Shutdown(SocketShutdown.Send);
        var (text, completed) = await ReadToEndAsync(pair.Transport.Input);
        await closed.OrTimeoutAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(text, Is.EqualTo("last"));
            Assert.That(completed, Is.True);
        }
    }

    [Test]
    public async Task ClientReset_CompletesInputAndFiresClosed()
    {
        await using var pair = await SocketPair.ConnectAsync();
        var closed = Fired(pair.Transport.Closed);

        pair.Client.LingerState = new LingerOption(true, 0);
        pair.Client.Close();
        var (_, completed) = await ReadToEndAsync(pair.Transport.Input);
        await closed.OrTimeoutAsync();

        Assert.That(completed, Is.True);
    }

    [Test]
    public async Task GracefulClose_SendsFinAfterTheLastResponseAndEndsWhenTheClientCloses()
    {
        await using var pair = await SocketPair.ConnectAsync();
        var clock = new ObservedClock();

        pair.Transport.Output.Write(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
        var closing = pair.CloseAsync(graceful: true, clock);
        var received = await ReadUntilFinAsync(pair.Client);
        await clock.WaitForArmedAsync(Linger);
        pair.Client.Close();

        // The linger never passes on this clock: the close can only end because the client closed.
        await closing.OrTimeoutAsync();

        Assert.That(received, Is.EqualTo("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    }

    /// <summary>
    /// A client that keeps sending (pipelined requests the proxy will not answer) while the last response goes out:
    /// the transport reads and drops it, so the close does not reset the connection under the response.
    /// </summary>
    [Test]
    public async Task GracefulCloseWhileTheClientStillSends_DrainsItAndTheClientGetsTheWholeResponse()
    {
        await using var pair = await SocketPair.ConnectAsync(pauseThreshold: 4096);
        var clock = new ObservedClock();
        var response = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

        // Far more than the input pipe holds before its receive loop pauses, and than the socket buffers hold.
        var flood = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n", 100_000)));
        var sending = pair.Client.SendAsync(flood);
        await ReadAsync(pair.Transport.Input, 4096);
        pair.Transport.Output.Write(Encoding.ASCII.GetBytes(response));
        var closing = pair.CloseAsync(graceful: true, clock);
        await clock.WaitForArmedAsync(Linger);
        await sending.OrTimeoutAsync();
        var received = await ReadUntilFinAsync(pair.Client);
        pair.Client.Close();
        await closing.OrTimeoutAsync();

        Assert.That(received, Is.EqualTo(response), "The response was cut or reset by the close.");
    }

    [Test]
    public async Task GracefulCloseWithAClientThatNeverCloses_EndsAfterTheLinger()
    {
        await using var pair = await SocketPair.ConnectAsync();
        var clock = new ObservedClock();

        var closing = pair.CloseAsync(graceful: true, clock);
        var received = await ReadUntilFinAsync(pair.Client);
        await clock.WaitForArmedAsync(Linger);
        Assert.That(closing.IsCompleted, Is.False, "The close did not wait for the client.");
        clock.Advance(Linger);
        await closing.OrTimeoutAsync();

        Assert.That(received, Is.Empty);
    }

    [Test]
    public async Task AbortiveClose_ResetsTheConnection()
    {
        await using var pair = await SocketPair.ConnectAsync();

        await pair.CloseAsync(graceful: false, TimeProvider.System).OrTimeoutAsync();
        var error = Assert.ThrowsAsync<SocketException>(async () => await ReadUntilFinAsync(pair.Client));

        Assert.That(error?.SocketErrorCode, Is.EqualTo(SocketError.ConnectionReset));
    }

    private static Task Fired(CancellationToken token)
    {
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(() => fired.TrySetResult());
        return fired.Task;
    }

    /// <summary>Reads at least <paramref name="count"/> bytes and consumes them.</summary>
    private static async Task<string> ReadAsync(PipeReader input, int count)
    {
        while (true)
        {
            var read = await input.ReadAsync().AsTask().OrTimeoutAsync();
            if (read.Buffer.Length >= count || read.IsCompleted)
            {
                var text = Encoding.ASCII.GetString(read.Buffer.Slice(0, Math.Min(count, read.Buffer.Length)));
                input.AdvanceTo(read.Buffer.GetPosition(Math.Min(count, read.Buffer.Length)));
                return text;
            }

            input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private static async Task<(string Text, bool Completed)> ReadToEndAsync(PipeReader input)
    {
        var text = new StringBuilder();
        while (true)
        {
            var read = await input.ReadAsync().AsTask().OrTimeoutAsync();
            text.Append(Encoding.ASCII.GetString(read.Buffer));
            input.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                return (text.ToString(), true);
            }
        }
    }

    /// <summary>What the client receives until the transport's FIN (a reset throws).</summary>
    private static async Task<string> ReadUntilFinAsync(Socket client)
    {
        using var timeout = EventTimeout.NewSource();
        var received = new MemoryStream();
        var buffer = new byte[4096];
        while (true)
        {
            var count = await client.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (count == 0)
            {
                return Encoding.ASCII.GetString(received.ToArray());
            }

            received.Write(buffer, 0, count);
        }
    }

    /// <summary>A client socket and the transport over the server side of the same loopback connection.</summary>
    private sealed class SocketPair : IAsyncDisposable
    {
        private bool closed;

        private SocketPair(Socket client, ClientTransport transport)
        {
            Client = client;
            Transport = transport;
        }

        public Socket Client { get; }

        public ClientTransport Transport { get; }

        public static async Task<SocketPair> ConnectAsync(long pauseThreshold = 256 * 1024)
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var timeout = EventTimeout.NewSource();
            await client.ConnectAsync(listener.LocalEndPoint!, timeout.Token);
            var server = await listener.AcceptAsync(timeout.Token);
            return new SocketPair(client, new ClientTransport(server, pauseThreshold));
        }

        public Task CloseAsync(bool graceful, TimeProvider clock)
        {
            closed = true;
            return Transport.CloseAsync(graceful, Linger, clock).AsTask();
        }

        public async ValueTask DisposeAsync()
        {
            if (!closed)
            {
                await CloseAsync(graceful: false, TimeProvider.System).OrTimeoutAsync();
            }

            Client.Dispose();
        }
    }
}
