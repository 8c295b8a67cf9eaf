using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Web;

namespace OllamaSocketProxy.Soak;

/// <summary>
/// The upstream of the soak: HTTPS on 127.0.0.1, keep-alive, reading each request body to its end, then doing what
/// the request's <c>soak=</c> parameter asks (see <see cref="Scenario"/>): answer, stream, reset, cut, or stall.
/// <code>Soak upstream --cert PEM --key PEM --port-file PATH</code>
/// </summary>
internal static class FaultyUpstream
{
    /// <summary>A stalled request is let go after this, whatever the proxy does (it should give up after 2 s).</summary>
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(30);

    private static long s_connections;
    private static long s_requests;
    private static readonly long[] s_byScenario = new long[Enum.GetValues<Scenario>().Length];

    public static async Task<int> RunAsync(Dictionary<string, string> options)
    {
        using var certificate = X509Certificate2.CreateFromPemFile(options["cert"], options["key"]);
        var tls = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(certificate, additionalCertificates: null),
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        };

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1024);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var portFile = options["port-file"];
        await File.WriteAllTextAsync(portFile + ".tmp", port.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        File.Move(portFile + ".tmp", portFile, overwrite: true);
        Console.WriteLine($"upstream listening on 127.0.0.1:{port}");

        using var stop = new CancellationTokenSource();
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Cancel(); });
        using var registration = stop.Token.Register(listener.Close);
        while (!stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (stop.IsCancellationRequested)
                {
                    break;
                }

                continue;
            }

            Interlocked.Increment(ref s_connections);
            _ = ServeAsync(socket, tls, stop.Token);
        }

        Console.WriteLine($"upstream: {s_connections} connections, {s_requests} requests; by scenario: "
            + string.Join(", ", Enum.GetValues<Scenario>().Select(s => $"{Scenarios.Name(s)} {s_byScenario[(int)s]}")));
        return 0;
    }

    private static async Task ServeAsync(Socket socket, SslServerAuthenticationOptions tls, CancellationToken stop)
    {
        socket.NoDelay = true;
        var stream = new SslStream(new NetworkStream(socket, ownsSocket: false));
        var reset = false;
        try
        {
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                handshake.CancelAfter(TimeSpan.FromSeconds(10));
                await stream.AuthenticateAsServerAsync(tls, handshake.Token).ConfigureAwait(false);
            }

            var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
            while (!stop.IsCancellationRequested)
            {
                var head = await Wire.ReadHeadAsync(reader, stop).ConfigureAwait(false);
                if (head is null)
                {
                    break;
                }

                var body = head.IsChunked ? await Wire.ReadChunkedAsync(reader, stop).ConfigureAwait(false)
                    : head.ContentLength is > 0 and var length ? await Wire.ReadContentAsync(reader, length, stop).ConfigureAwait(false)
                    : new BodyRead(0, Wire.FnvSeed, true);
                if (!body.Complete)
                {
                    // The proxy aborted the upload (its client left): nothing to answer.
                    break;
                }

                Interlocked.Increment(ref s_requests);
                var query = HttpUtility.ParseQueryString(head.Target.Contains('?', StringComparison.Ordinal) ? head.Target[(head.Target.IndexOf('?', StringComparison.Ordinal) + 1)..] : "");
                var scenario = Scenarios.Parse(query["soak"] ?? "json");
                Interlocked.Increment(ref s_byScenario[(int)scenario]);
                var keepOpen = await RespondAsync(stream, reader, scenario, query, body, stop).ConfigureAwait(false);
                if (keepOpen is null)
                {
                    reset = true;
                    break;
                }

                if (keepOpen == false)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidDataException
            or WireEndedException or System.Security.Authentication.AuthenticationException or ObjectDisposedException)
        {
            // The proxy reset or closed the connection: the usual end of an aborted exchange.
        }
        finally
        {
            if (reset)
            {
                socket.LingerState = new LingerOption(true, 0);
            }

            socket.Dispose();
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Answers one request; returns whether the connection stays open, or null to reset it.</summary>
    private static async Task<bool?> RespondAsync(
        SslStream stream, PipeReader reader, Scenario scenario, System.Collections.Specialized.NameValueCollection query, BodyRead body, CancellationToken stop)
    {
        var n = int.TryParse(query["n"], out var count) ? count : 5;
        var size = int.TryParse(query["size"], out var bytes) ? bytes : 256;
        var delay = int.TryParse(query["delay"], out var ms) ? ms : 0;
        switch (scenario)
        {
            case Scenario.ResetBeforeHead:
                return null;

            case Scenario.Stall:
                // Wait for the proxy to give up (it closes or resets), or for the limit.
                using (var limit = CancellationTokenSource.CreateLinkedTokenSource(stop))
                {
                    limit.CancelAfter(StallLimit);
                    await reader.ReadAsync(limit.Token).ConfigureAwait(false);
                }

                return false;

            case Scenario.UploadSmall or Scenario.UploadChunked or Scenario.UploadLarge:
                await WriteAsync(stream, Head(200, "application/json", Encoding.ASCII.GetBytes($"{{\"received\":{body.Bytes},\"hash\":{body.Hash}}}\n")), stop).ConfigureAwait(false);
                return true;

            case Scenario.CloseMidBody:
                var full = Payload.Json(size);
                var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {full.Length}\r\n\r\n");
                await WriteAsync(stream, [.. head, .. full.AsSpan(0, full.Length / 2)], stop).ConfigureAwait(false);
                return false;

            case Scenario.Ndjson or Scenario.SlowStream or Scenario.ClientAbortStream or Scenario.CloseMidStream:
                await WriteAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"u8.ToArray(), stop).ConfigureAwait(false);
                var lines = scenario == Scenario.CloseMidStream ? Math.Max(1, n / 2) : n;
                for (var i = 0; i < lines; i++)
                {
                    if (delay > 0 && i > 0)
                    {
                        await Task.Delay(delay, stop).ConfigureAwait(false);
                    }

                    var line = Payload.Line(i, n, size);
                    await WriteAsync(stream, [.. Encoding.ASCII.GetBytes($"{line.Length:x}\r\n"), .. line, .. "\r\n"u8], stop).ConfigureAwait(false);
                }

                if (scenario == Scenario.CloseMidStream)
                {
                    return false;
                }

                await WriteAsync(stream, "0\r\n\r\n"u8.ToArray(), stop).ConfigureAwait(false);
                return true;

            default:
                await WriteAsync(stream, Head(200, "application/json", Payload.Json(size)), stop).ConfigureAwait(false);
                return true;
        }
    }

    private static byte[] Head(int status, string contentType, byte[] body) =>
        [.. Encoding.ASCII.GetBytes($"HTTP/1.1 {status} OK\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\n\r\n"), .. body];

    private static async Task WriteAsync(SslStream stream, byte[] bytes, CancellationToken stop)
    {
        await stream.WriteAsync(bytes, stop).ConfigureAwait(false);
        await stream.FlushAsync(stop).ConfigureAwait(false);
    }
}
