using System.Text;

namespace OllamaSocketProxy.Soak;

/// <summary>One request of a scenario: its bytes, where an aborting client stops, and the answer it must get.</summary>
internal sealed class Request
{
    private static readonly string[] Paths = ["/api/chat", "/api/generate", "/v1/chat/completions", "/chat", "/api/api/show"];

    private Request(byte[] bytes, long expectedLength, uint expectedHash, string description, int abortAfter = 0)
    {
        Bytes = bytes;
        ExpectedLength = expectedLength;
        ExpectedHash = expectedHash;
        Description = description;
        AbortAfter = abortAfter;
    }

    public byte[] Bytes { get; }

    /// <summary>For <see cref="Scenario.ClientAbortUpload"/>: how many bytes go out before the reset.</summary>
    public int AbortAfter { get; }

    private long ExpectedLength { get; }

    private uint ExpectedHash { get; }

    private string Description { get; }

    /// <summary>Whether a 2xx body is exactly what the upstream sent for this request.</summary>
    public bool Check(BodyRead body) => body.Bytes == ExpectedLength && body.Hash == ExpectedHash;

    public string Describe() => Description;

    public static Request For(Scenario scenario, Random random, string token, bool close)
    {
        var path = Paths[random.Next(Paths.Length)];
        var name = Scenarios.Name(scenario);
        var auth = scenario == Scenario.Unauthorized ? "Bearer wrong-token" : $"Bearer {token}";
        var connection = close ? "Connection: close\r\n" : "";
        string Head(string method, string query, string framing) =>
            $"{method} {path}?soak={name}{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\nUser-Agent: soak\r\nAccept: */*\r\n{connection}{framing}\r\n";

        switch (scenario)
        {
            case Scenario.Ndjson or Scenario.SlowStream or Scenario.ClientAbortStream or Scenario.CloseMidStream:
            {
                var slow = scenario is Scenario.SlowStream or Scenario.ClientAbortStream;
                var n = slow ? random.Next(3, 7) : random.Next(1, 21);
                var size = random.Next(64, 513);
                var delay = slow ? random.Next(20, 101) : 0;
                var prompt = Encoding.ASCII.GetBytes("{\"model\":\"soak\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}");
                var bytes = Concat(Head("POST", $"&n={n}&size={size}&delay={delay}", $"Content-Type: application/json\r\nContent-Length: {prompt.Length}\r\n"), prompt);
                return new Request(bytes, (long)n * size, Payload.StreamHash(n, size), $"{n} lines of {size} bytes");
            }

            case Scenario.UploadSmall or Scenario.UploadChunked or Scenario.UploadLarge or Scenario.ClientAbortUpload:
            {
                var chunked = scenario == Scenario.UploadChunked || (scenario == Scenario.ClientAbortUpload && random.Next(2) == 0);
                var length = scenario switch
                {
                    Scenario.UploadSmall => random.Next(1, 8 * 1024),
                    Scenario.UploadChunked => random.Next(1, 96 * 1024),
                    _ => random.Next(96 * 1024, 256 * 1024),
                };
                var body = new byte[length];
                Payload.Fill(body, random.Next(26));
                var hash = Wire.Fnv(Wire.FnvSeed, body);
                byte[] bytes = chunked
                    ? Concat(Head("POST", "", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"), Chunk(body, random))
                    : Concat(Head("POST", "", $"Content-Type: application/json\r\nContent-Length: {length}\r\n"), body);
                var echo = Encoding.ASCII.GetBytes($"{{\"received\":{length},\"hash\":{hash}}}\n");
                var abortAfter = random.Next(bytes.Length - length + 1, bytes.Length - (length / 4));
                return new Request(bytes, echo.Length, Wire.Fnv(Wire.FnvSeed, echo), $"echo of {length} bytes", abortAfter);
            }

            default:
            {
                // Json, the faults the upstream plays on a GET, and the 401.
                var size = random.Next(64, 16 * 1024);
                var json = Payload.Json(size);
                return new Request(Encoding.ASCII.GetBytes(Head("GET", $"&size={size}", "")), json.Length, Wire.Fnv(Wire.FnvSeed, json), $"JSON of {json.Length} bytes");
            }
        }
    }

    /// <summary>The body in chunks of random sizes, with the odd chunk extension, then the last chunk.</summary>
    private static byte[] Chunk(byte[] body, Random random)
    {
        var output = new MemoryStream();
        for (var offset = 0; offset < body.Length;)
        {
            var size = Math.Min(body.Length - offset, random.Next(1, 16 * 1024));
            var extension = random.Next(10) == 0 ? ";soak=1" : "";
            output.Write(Encoding.ASCII.GetBytes($"{size:x}{extension}\r\n"));
            output.Write(body, offset, size);
            output.Write("\r\n"u8);
            offset += size;
        }

        output.Write("0\r\n\r\n"u8);
        return output.ToArray();
    }

    private static byte[] Concat(string head, byte[] body) => [.. Encoding.ASCII.GetBytes(head), .. body];
}
