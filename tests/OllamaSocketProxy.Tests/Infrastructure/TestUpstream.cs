using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// A real HTTP/1.1 origin on 127.0.0.1 (TLS with a test certificate, or plain TCP) standing in for Ollama Cloud.
/// It records every connection and every request exactly as it arrives, and answers through <see cref="Handler"/>.
/// Bounded in connections; everything stops on dispose.
/// </summary>
public sealed class TestUpstream : IAsyncDisposable
{
    private const int MaxConnections = 256;

    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly X509Certificate2? certificate;
    private readonly CancellationTokenSource stopping = new();
    private readonly Lock sync = new();
    private readonly List<ReceivedRequest> requests = [];
    private readonly List<byte[]> incompleteRequests = [];
    private readonly List<UpstreamConnection> connections = [];
    private readonly List<Task> serving = [];
    private readonly List<Exception> handlerFailures = [];
    private readonly Task accepting;
    private TaskCompletionSource changed = NewSignal();
    private int acceptedConnections;
    private int headsReceived;
    private int tlsHandshakeFailures;
    private int disposed;

    private TestUpstream(X509Certificate2? certificate, Func<UpstreamExchange, Task>? handler)
    {
        this.certificate = certificate;
        Handler = handler ?? UpstreamResponses.EchoTargetAsync;
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        accepting = AcceptAsync();
    }

    /// <summary>A TLS origin whose certificate (for localhost and 127.0.0.1) is signed by the test CA.</summary>
    public static TestUpstream StartTls(Func<UpstreamExchange, Task>? handler = null) =>
        new(TestCertificates.Shared.LocalhostLeaf, handler);

    /// <summary>A TLS origin presenting <paramref name="certificate"/>, for certificate failure tests.</summary>
    public static TestUpstream StartTls(X509Certificate2 certificate, Func<UpstreamExchange, Task>? handler = null) =>
        new(certificate, handler);

    public static TestUpstream StartPlain(Func<UpstreamExchange, Task>? handler = null) => new(null, handler);

    /// <summary>Answers each request; may be replaced between requests.</summary>
    public Func<UpstreamExchange, Task> Handler { get; set; }

    public int Port { get; }

    public bool IsTls => certificate is not null;

    /// <summary>The origin for <c>OLLAMA_UPSTREAM_URL</c>: <c>https://localhost:port</c> or <c>http://127.0.0.1:port</c>.</summary>
    public string Origin => IsTls ? $"https://localhost:{Port}" : $"http://127.0.0.1:{Port}";

    /// <summary>The authority the proxy must send as <c>Host</c>.</summary>
    public string Authority => IsTls ? $"localhost:{Port}" : $"127.0.0.1:{Port}";

    public int AcceptedConnections => Volatile.Read(ref acceptedConnections);

    public int HeadsReceived => Volatile.Read(ref headsReceived);

    public int TlsHandshakeFailures => Volatile.Read(ref tlsHandshakeFailures);

    public IReadOnlyList<ReceivedRequest> Requests => Snapshot(requests);

    /// <summary>Requests whose connection ended, or whose framing broke, before they were complete.</summary>
    public IReadOnlyList<byte[]> IncompleteRequests => Snapshot(incompleteRequests);

    public IReadOnlyList<UpstreamConnection> Connections => Snapshot(connections);

    public IReadOnlyList<Exception> HandlerFailures => Snapshot(handlerFailures);

    /// <summary>Application bytes received on all connections together.</summary>
    public long BytesReceived => Connections.Sum(connection => connection.BytesReceived);

    public Task WaitForRequestsAsync(int count) => WaitUntilAsync(() => Requests.Count >= count, $"{count} request(s) received");

    public Task WaitForRequestHeadsAsync(int count) => WaitUntilAsync(() => HeadsReceived >= count, $"{count} request head(s) received");

    /// <summary>
    /// Waits until <paramref name="connection"/> received <paramref name="count"/> body bytes of its latest request, or
    /// the proxy closed it first; returns whether the bytes came.
    /// </summary>
    public async Task<bool> WaitForBodyBytesAsync(UpstreamConnection connection, long count)
    {
        await WaitUntilAsync(
            () => connection.BodyBytesReceived >= count || connection.ClosedByProxy.IsCompleted,
            $"{count} body bytes on connection {connection.Id}, or its close");
        return connection.BodyBytesReceived >= count;
    }

    /// <summary>The <paramref name="id"/>-th connection that completed its handshake.</summary>
    public async Task<UpstreamConnection> WaitForConnectionAsync(int id)
    {
        await WaitUntilAsync(() => Connections.Count >= id, $"connection {id} accepted");
        return Connections[id - 1];
    }

    /// <summary>Waits for a state change that makes <paramref name="condition"/> true; times out only when the test fails.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, [CallerArgumentExpression(nameof(condition))] string? description = null)
    {
        using var timeout = EventTimeout.NewSource();
        while (true)
        {
            var signal = Volatile.Read(ref changed).Task;
            if (condition())
            {
                return;
            }

            try
            {
                await signal.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"The test upstream never reached '{description}' within {EventTimeout.Limit.TotalSeconds} s.");
            }
        }
    }

    internal void OnHeadReceived()
    {
        Interlocked.Increment(ref headsReceived);
        Changed();
    }

    internal void OnRequestReceived(ReceivedRequest request) => Add(requests, request);

    internal void OnIncompleteRequest(byte[] raw) => Add(incompleteRequests, raw);

    /// <summary>A connection stopped reading (the proxy closed it, or this side did).</summary>
    internal void OnReadingEnded() => Changed();

    /// <summary>Stops listening and ends every connection; a second call does nothing (a test may stop the origin early).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await stopping.CancelAsync();
        listener.Stop();
        Task[] running;
        lock (sync)
        {
            running = [accepting, .. serving];
        }

        try
        {
            await Task.WhenAll(running).WaitAsync(EventTimeout.Limit);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        for (var id = 1; id <= MaxConnections; id++)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            socket.NoDelay = true;
            Interlocked.Increment(ref acceptedConnections);
            var connectionId = id;
            lock (sync)
            {
                serving.Add(Task.Run(() => ServeAsync(socket, connectionId)));
            }

            Changed();
        }
    }

    private async Task ServeAsync(Socket socket, int id)
    {
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        if (certificate is not null)
        {
            var tls = new SslStream(stream, leaveInnerStreamOpen: false);
            try
            {
                using var handshake = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
                handshake.CancelAfter(EventTimeout.Limit);
                await tls.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificate = certificate,
                        ApplicationProtocols = [SslApplicationProtocol.Http11],
                    },
                    handshake.Token);
            }
            catch (Exception)
            {
                Interlocked.Increment(ref tlsHandshakeFailures);
                await tls.DisposeAsync();
                Changed();
                return;
            }

            stream = tls;
        }

        var connection = new UpstreamConnection(id, socket, stream, Changed);
        Add(connections, connection);
        try
        {
            await connection.RunAsync(this, stopping.Token);
        }
        catch (Exception e)
        {
            Add(handlerFailures, e);
        }

        Changed();
    }

    private void Add<T>(List<T> list, T item)
    {
        lock (sync)
        {
            list.Add(item);
        }

        Changed();
    }

    private T[] Snapshot<T>(List<T> list)
    {
        lock (sync)
        {
            return [.. list];
        }
    }

    private void Changed() => Interlocked.Exchange(ref changed, NewSignal()).TrySetResult();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
