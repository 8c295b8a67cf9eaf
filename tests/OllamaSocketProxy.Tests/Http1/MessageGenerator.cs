using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>
/// Random HTTP/1.1 messages for the property and adversarial tests: mostly valid heads and chunked bodies of the
/// kinds Ollama clients and the upstream send, and mutations of them. Driven by a caller's seeded <see cref="Random"/>.
/// </summary>
public static class MessageGenerator
{
    private static readonly string[] s_methods = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "M-SEARCH", "get"];

    private static readonly string[] s_targets =
    [
        "/", "/api/tags", "/api/api/chat?stream=true", "/v1/chat/completions", "/generate", "*",
        "http://other.host/api/tags", "/x%20y", "/a/b/c?q=1&r=%2F", "/api/../x", "/api/%2e%2e/", "/a\\b", "/a#f",
    ];

    private static readonly string[] s_requestFields =
    [
        "Content-Type: application/json", "Accept: */*", "User-Agent: ollama/0.5.7 (amd64 linux) Go/go1.23",
        "Authorization: Bearer t0k3n", "x-api-key: abc", "Connection: keep-alive", "Connection: close, X-Trace",
        "X-Trace: 1", "Content-Length: 2", "Content-Length: 0", "Content-Length: 5, 5", "Transfer-Encoding: chunked",
        "Transfer-Encoding: gzip, chunked", "Expect: 100-continue", "X-Empty:", "X-Ows: \t v \t", "X-Obs-Text: caf\u00e9",
        "Keep-Alive: timeout=5", "TE: trailers", "Cookie: a=b; c=d", "Proxy-Authorization: Basic eDp5", "Upgrade: h2c",
    ];

    private static readonly string[] s_statusLines =
    [
        "HTTP/1.1 200 OK", "HTTP/1.1 204 No Content", "HTTP/1.0 200 OK", "HTTP/1.1 100 Continue", "HTTP/1.1 304 Not Modified",
        "HTTP/1.1 404 ", "HTTP/1.1 502", "HTTP/1.1 429 Too Many Requests", "HTTP/1.1 101 Switching Protocols",
    ];

    private static readonly string[] s_responseFields =
    [
        "Content-Type: application/x-ndjson", "Content-Type: text/event-stream", "Content-Length: 18", "Content-Length: 0",
        "Transfer-Encoding: chunked", "Connection: close", "Connection: keep-alive, X-Hop", "X-Hop: 1", "Keep-Alive: timeout=60",
        "Date: Tue, 25 Nov 2025 10:00:00 GMT", "Server: cloudflare", "Set-Cookie: a=b; Secure", "Trailer: X-T", "Via: 1.1 edge",
        "X-Empty:",
    ];

    private static readonly string[] s_extensions = ["", "", "", ";x", ";name=value", " ; a = 1", ";q=\"a b;c\"", "\t;x"];

    private static readonly string[] s_trailers = ["X-T: v", "X-Checksum: abc", "X-Empty:", "Server-Timing: total;dur=12"];

    public static string RequestHead(Random random)
    {
        var text = new StringBuilder();
        for (var i = random.Next(8) == 0 ? random.Next(1, 4) : 0; i > 0; i--)
        {
            text.Append("\r\n");
        }

        var http10 = random.Next(7) == 0;
        text.Append($"{Pick(random, s_methods)} {Pick(random, s_targets)} {(http10 ? "HTTP/1.0" : "HTTP/1.1")}\r\n");
        if (!http10 || random.Next(2) == 0)
        {
            text.Append("Host: localhost:11434\r\n");
        }

        for (var i = random.Next(11); i > 0; i--)
        {
            text.Append(Pick(random, s_requestFields)).Append("\r\n");
        }

        return text.Append("\r\n").ToString();
    }

    public static string ResponseHead(Random random)
    {
        var text = new StringBuilder(Pick(random, s_statusLines)).Append("\r\n");
        for (var i = random.Next(9); i > 0; i--)
        {
            text.Append(Pick(random, s_responseFields)).Append("\r\n");
        }

        return text.Append("\r\n").ToString();
    }

    /// <summary>Chunks of random sizes (hex in either case, sometimes zero-padded), data of any bytes, extensions, trailers.</summary>
    public static byte[] ChunkedBody(Random random)
    {
        var body = new List<byte>();
        for (var chunks = random.Next(5); chunks > 0; chunks--)
        {
            var size = random.Next(1, random.Next(2) == 0 ? 16 : 600);
            var hex = size.ToString(random.Next(2) == 0 ? "x" : "X", System.Globalization.CultureInfo.InvariantCulture);
            body.AddRange(Latin1.Bytes(new string('0', random.Next(4) == 0 ? random.Next(1, 4) : 0) + hex + Pick(random, s_extensions) + "\r\n"));
            var data = new byte[size];
            random.NextBytes(data);
            body.AddRange(data);
            body.AddRange("\r\n"u8.ToArray());
        }

        body.AddRange(Latin1.Bytes((random.Next(4) == 0 ? "000" : "0") + Pick(random, s_extensions) + "\r\n"));
        for (var trailers = random.Next(3) == 0 ? random.Next(1, 4) : 0; trailers > 0; trailers--)
        {
            body.AddRange(Latin1.Bytes(Pick(random, s_trailers) + "\r\n"));
        }

        body.AddRange("\r\n"u8.ToArray());
        return [.. body];
    }

    private static readonly byte[] s_interestingBytes = [(byte)'\r', (byte)'\n', 0, (byte)' ', (byte)'\t', (byte)':', 0x7F, 0xFF, 0x80, (byte)',', (byte)';', (byte)'%', (byte)'"', (byte)'0', (byte)'F'];

    private static readonly string[] s_hugeNumbers =
    [
        "99999999999999999999999999", "9223372036854775808", "18446744073709551616", "-1", "+5", "0x10", " 5 5",
        "FFFFFFFFFFFFFFFFFFFF", "00000000000000000000000000001", "1e9", "",
    ];

    /// <summary>Mutated inputs stay below this: past every default limit (32 KiB heads, 64 KiB responses), cheap to split.</summary>
    public const int MaxMutatedLength = 80 * 1024;

    /// <summary>
    /// One to three mutations of <paramref name="input"/>: flipped bits, inserted or replaced CR/LF/NUL/SP and other
    /// meaningful bytes, deletions, truncations, repeated lines, numbers made huge or malformed, long runs.
    /// </summary>
    public static byte[] Mutate(Random random, byte[] input)
    {
        var bytes = new List<byte>(input);
        for (var mutations = random.Next(1, 4); mutations > 0; mutations--)
        {
            var at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(10))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when bytes.Count > 0:
                    bytes[at] = Pick(random, s_interestingBytes);
                    break;
                case 2:
                    bytes.Insert(at, Pick(random, s_interestingBytes));
                    break;
                case 3 when bytes.Count > 0:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, random.Next(1, 8)));
                    break;
                case 4:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 5:
                    RepeatLine(bytes, at, random.Next(2) == 0 ? 2 : random.Next(10, 300));
                    break;
                case 6:
                    ReplaceNumber(random, bytes, at);
                    break;
                case 7:
                    bytes.InsertRange(at, Enumerable.Repeat(Pick(random, "a \t\r\n:"u8.ToArray()), random.Next(1, random.Next(2) == 0 ? 100 : 40_000)));
                    break;
                case 8:
                    // A line ending changed: CRLF → LF, CR, LFCR or CRCRLF.
                    var crlf = IndexOf(bytes, at, (byte)'\r');
                    if (crlf >= 0 && crlf + 1 < bytes.Count && bytes[crlf + 1] == '\n')
                    {
                        bytes.RemoveRange(crlf, 2);
                        bytes.InsertRange(crlf, Pick(random, new[] { "\n", "\r", "\n\r", "\r\r\n" }).Select(c => (byte)c));
                    }

                    break;
                default:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
            }
        }

        return [.. bytes.Take(MaxMutatedLength)];
    }

    private static void RepeatLine(List<byte> bytes, int at, int times)
    {
        var start = at;
        while (start > 0 && bytes[start - 1] != '\n')
        {
            start--;
        }

        var end = IndexOf(bytes, at, (byte)'\n');
        if (end < 0)
        {
            return;
        }

        var line = bytes.GetRange(start, end + 1 - start);
        for (var i = 0; i < times && bytes.Count < MaxMutatedLength; i++)
        {
            bytes.InsertRange(start, line);
        }
    }

    private static void ReplaceNumber(Random random, List<byte> bytes, int at)
    {
        var start = bytes.FindIndex(at, b => b is >= (byte)'0' and <= (byte)'9');
        if (start < 0)
        {
            return;
        }

        var end = start;
        while (end < bytes.Count && bytes[end] is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F')
        {
            end++;
        }

        bytes.RemoveRange(start, end - start);
        bytes.InsertRange(start, Latin1.Bytes(Pick(random, s_hugeNumbers)));
    }

    private static int IndexOf(List<byte> bytes, int from, byte value) => from >= bytes.Count ? -1 : bytes.IndexOf(value, from);

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
