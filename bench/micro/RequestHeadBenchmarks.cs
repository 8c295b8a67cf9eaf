using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Micro;

/// <summary>
/// Step 1 to 3 of a request without the sockets: parse and validate the head, map the target, check the
/// token, decide the framing, write the rewritten head. The Allocated column must read 0 B.
/// </summary>
[MemoryDiagnoser]
public class RequestHeadBenchmarks
{
    private static readonly Dictionary<string, string> Heads = new()
    {
        ["curl /api/chat"] =
            "POST /api/chat HTTP/1.1\r\nHost: localhost:11434\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n" +
            "Authorization: Bearer proxy-token\r\nContent-Type: application/json\r\nContent-Length: 412\r\n\r\n",
        ["ollama-python /chat"] =
            "POST /chat HTTP/1.1\r\nHost: 127.0.0.1:11434\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n" +
            "Accept: application/json\r\nContent-Type: application/json\r\nUser-Agent: ollama-python/0.4.7 (x86_64 linux) Python/3.11.7\r\n" +
            "Authorization: Bearer proxy-token\r\nContent-Length: 412\r\n\r\n",
        ["openai-dotnet /v1/chat/completions"] =
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:11434\r\nAccept: application/json\r\n" +
            "User-Agent: OpenAI/2.1.0 (.NET 10.0.0; Linux)\r\nAuthorization: Bearer proxy-token\r\nx-stainless-retry-count: 0\r\n" +
            "Content-Type: application/json\r\nContent-Length: 412\r\n\r\n",
    };

    private readonly RequestHead _head = new();
    private readonly RequestRewriter _rewriter = new("ollama.com");
    private readonly byte[] _authorization = RequestRewriter.AuthorizationLine("upstream-key");
    private readonly TokenAuthentication _authentication = new(new ClientRegistrySource(null, "proxy-token", NullLogger.Instance));
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private ReadOnlySequence<byte> _bytes;

    [ParamsSource(nameof(HeadNames))]
    public string Head { get; set; } = "";

    public static IEnumerable<string> HeadNames => Heads.Keys;

    [GlobalSetup]
    public void Setup() => _bytes = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(Heads[Head]));

    [Benchmark]
    public int ParseAuthenticateRewrite()
    {
        var reader = new SequenceReader<byte>(_bytes);
        if (!RequestHeadParser.TryParse(ref reader, RequestLimits.Default, _head) || _authentication.Authenticate(_head) is null)
        {
            throw new InvalidOperationException("benchmark input did not parse");
        }

        var target = RequestTarget.Map(_head.Target);
        var framing = BodyFraming.ForRequest(_head);
        _output.ResetWrittenCount();
        _rewriter.WriteHead(_output, _head, target, framing, _authorization, default);
        return _output.WrittenCount;
    }
}
