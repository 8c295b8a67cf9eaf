using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using OllamaSocketProxy.Listener;

namespace OllamaSocketProxy.Micro;

/// <summary>
/// One whole request through the real <see cref="ProxyServer"/> on a keep-alive connection: client socket →
/// proxy → upstream socket and back, all on 127.0.0.1 in this process. The client and the upstream below are
/// written to allocate nothing per request, so the Allocated column is what the proxy spends per request.
/// <see cref="Usage"/> <c>on</c> counts usage as a default start does: the usage database (a file in the temp folder,
/// flushed every 5 s by the recorder's own thread) and the admin listener's metrics; <c>off</c> turns both off.
/// </summary>
[MemoryDiagnoser]
public class ProxyRoundTripBenchmarks
{
    private static readonly byte[] Request = Encoding.ASCII.GetBytes(
        "POST /api/chat HTTP/1.1\r\nHost: localhost:11434\r\nUser-Agent: bench\r\nAuthorization: Bearer proxy-token\r\n" +
        "Content-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"model\":\"m\",\"stream\":true}");

    // The last line carries token counts, so with usage on the reader finds and parses them.
    private static readonly byte[] UpstreamResponse = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "f\r\n{\"done\":false}\n\r\n" + Chunk("{\"done\":true,\"prompt_eval_count\":26,\"eval_count\":282}\n") + "0\r\n\r\n");

    private readonly byte[] _receive = new byte[64 * 1024];
    private Socket _upstreamListener = null!;
    private ProxyServer _proxy = null!;
    private Socket _client = null!;
    private int _responseLength;
    private int _upstreamRequestLength;
    private string? _usageDatabase;

    /// <summary><c>off</c>: no usage database, no admin listener; <c>on</c>: both, as the defaults have them.</summary>
    [Params("off", "on")]
    public string Usage { get; set; } = "off";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _upstreamListener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _upstreamListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _upstreamListener.Listen(16);
        var upstreamPort = ((IPEndPoint)_upstreamListener.LocalEndPoint!).Port;

        var options = ProxyOptions.FromEnvironment(new Dictionary<string, string?>
        {
            ["OLLAMA_API_KEY"] = "upstream-key",
            ["PROXY_AUTH_TOKEN"] = "proxy-token",
            ["PROXY_LISTEN"] = "127.0.0.1:0",
            ["OLLAMA_UPSTREAM_URL"] = $"http://127.0.0.1:{upstreamPort}",
            ["PROXY_ACCESS_LOG"] = "false",
            ["PROXY_USAGE_DB"] = Usage == "on" ? _usageDatabase = Path.Combine(Path.GetTempPath(), $"micro-usage-{Guid.NewGuid():N}.db") : "off",
            ["PROXY_ADMIN_LISTEN"] = Usage == "on" ? "127.0.0.1:0" : "off",
        });
        _proxy = new ProxyServer(options, NullLoggerFactory.Instance);
        await _proxy.StartAsync(CancellationToken.None);

        // What the upstream receives is the rewritten head, so its length is learned from the first request.
        var accepting = _upstreamListener.AcceptAsync();
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await _client.ConnectAsync(_proxy.LocalEndPoint);
        await _client.SendAsync(Request, SocketFlags.None);
        var upstream = await accepting;
        _upstreamRequestLength = await ReceiveRequestAsync(upstream, new byte[64 * 1024]);
        _ = ServeAsync(upstream);
        await upstream.SendAsync(UpstreamResponse, SocketFlags.None);
        _responseLength = await ReceiveResponseAsync(_client, _receive);
    }

    private static async Task<int> ReceiveRequestAsync(Socket socket, byte[] buffer)
    {
        var length = 0;
        while (true)
        {
            length += await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None);
            var text = Encoding.ASCII.GetString(buffer, 0, length);
            var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd >= 0 && length >= headEnd + 4 + 27)
            {
                return length;
            }
        }
    }

    /// <summary>Reads a chunked response to its last chunk (first call only; later calls know the length).</summary>
    private static async Task<int> ReceiveResponseAsync(Socket socket, byte[] buffer)
    {
        var length = 0;
        while (!Encoding.ASCII.GetString(buffer, 0, length).EndsWith("0\r\n\r\n", StringComparison.Ordinal))
        {
            length += await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None);
        }

        return length;
    }

    private async Task ServeAsync(Socket upstream)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var received = 0;
            while (received < _upstreamRequestLength)
            {
                var n = await upstream.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None);
                if (n == 0)
                {
                    return;
                }

                received += n;
            }

            await upstream.SendAsync(UpstreamResponse.AsMemory(), SocketFlags.None);
        }
    }

    /// <summary>Pooled like the proxy's own per-request methods, so the benchmark's await adds no allocation.</summary>
    [Benchmark]
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> KeepAliveRequest()
    {
        await _client.SendAsync(Request.AsMemory(), SocketFlags.None);
        var received = 0;
        while (received < _responseLength)
        {
            received += await _client.ReceiveAsync(_receive.AsMemory(received), SocketFlags.None);
        }

        return received;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _client.Dispose();
        await _proxy.DisposeAsync();
        _upstreamListener.Dispose();
        if (_usageDatabase is not null)
        {
            foreach (var file in new[] { _usageDatabase, _usageDatabase + "-wal", _usageDatabase + "-shm" })
            {
                File.Delete(file);
            }
        }
    }

    private static string Chunk(string data) => $"{data.Length:x}\r\n{data}\r\n";
}
