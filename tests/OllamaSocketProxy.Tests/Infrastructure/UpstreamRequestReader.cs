using System.Globalization;
using System.Text;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// Minimal request framing for the test upstream: a head, then a Content-Length or chunked body. It records, it does
/// not judge: the tests assert on what arrived.
/// </summary>
internal static class UpstreamRequestReader
{
    private const int MaxHeadLines = 1000;

    /// <summary>
    /// The next request; <c>null</c> when the connection ends cleanly between requests; throws
    /// <see cref="IncompleteRequestException"/> when it ends inside one.
    /// </summary>
    public static async Task<ReceivedRequest?> ReadAsync(
        ByteReader reader, int connectionId, Func<Task> sendContinue, Action headReceived, CancellationToken cancellationToken)
    {
        var raw = new MemoryStream();
        var lines = new List<string>();
        while (true)
        {
            var line = await reader.ReadLineAsync(cancellationToken);
            if (line.Length == 0 && raw.Length == 0)
            {
                return null;
            }

            raw.Write(line);
            if (line is not [.., (byte)'\n'] || lines.Count > MaxHeadLines)
            {
                throw new IncompleteRequestException(raw.ToArray());
            }

            if (line is [(byte)'\r', (byte)'\n'] or [(byte)'\n'])
            {
                break;
            }

            lines.Add(Encoding.Latin1.GetString(line).TrimEnd('\r', '\n'));
        }

        var headLength = (int)raw.Length;
        var requestLine = lines.Count > 0 ? lines[0] : "";
        var parts = requestLine.Split(' ');
        var headers = HeaderFields.Parse(lines.Skip(1));
        headReceived();

        var expectsContinue = string.Equals(headers["Expect"], "100-continue", StringComparison.OrdinalIgnoreCase);
        var transferEncoding = string.Join(", ", headers.All("Transfer-Encoding"));
        byte[] body = [];
        var trailers = HeaderFields.Empty;
        if (transferEncoding.TrimEnd().EndsWith("chunked", StringComparison.OrdinalIgnoreCase))
        {
            if (expectsContinue)
            {
                await sendContinue();
            }

            var content = new MemoryStream();
            foreach (var chunk in await ChunkedBodyReader.ReadAllAsync(reader, cancellationToken))
            {
                raw.Write(chunk.Raw);
                if (!chunk.IsWellFormed)
                {
                    throw new IncompleteRequestException(raw.ToArray());
                }

                content.Write(chunk.Data);
                trailers = chunk.Trailers;
            }

            body = content.ToArray();
        }
        else if (long.TryParse(headers["Content-Length"], NumberStyles.None, CultureInfo.InvariantCulture, out var length) && length > 0)
        {
            if (expectsContinue)
            {
                await sendContinue();
            }

            body = await reader.ReadExactlyAsync(length, cancellationToken);
            raw.Write(body);
            if (body.Length < length)
            {
                throw new IncompleteRequestException(raw.ToArray());
            }
        }

        return new ReceivedRequest
        {
            ConnectionId = connectionId,
            Raw = raw.ToArray(),
            HeadLength = headLength,
            RequestLine = requestLine,
            Method = parts[0],
            Target = parts.Length > 1 ? parts[1] : "",
            Headers = headers,
            Body = body,
            Trailers = trailers,
        };
    }
}
