using System.Globalization;
using System.Text;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>A response's status line and fields as the client received them.</summary>
public sealed record ResponseHead(string StatusLine, string Version, int StatusCode, HeaderFields Headers, byte[] Raw)
{
    public bool IsInterim => StatusCode is >= 100 and < 200;

    public long? ContentLength =>
        long.TryParse(Headers["Content-Length"], NumberStyles.None, CultureInfo.InvariantCulture, out var length) ? length : null;

    public bool IsChunked => TransferCodings.LastOrDefault() is { } last && last.Equals("chunked", StringComparison.OrdinalIgnoreCase);

    public IReadOnlyList<string> TransferCodings =>
        [.. Headers.All("Transfer-Encoding").SelectMany(value => value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))];

    /// <summary>Whether the proxy said it closes the connection after this response.</summary>
    public bool AnnouncesClose =>
        Headers.All("Connection").SelectMany(value => value.Split(',', StringSplitOptions.TrimEntries))
            .Any(option => option.Equals("close", StringComparison.OrdinalIgnoreCase));

    public ResponseBodyKind BodyKindFor(string requestMethod)
    {
        if (requestMethod == "HEAD" || IsInterim || StatusCode is 204 or 304)
        {
            return ResponseBodyKind.None;
        }

        if (Headers.Contains("Transfer-Encoding"))
        {
            return IsChunked ? ResponseBodyKind.Chunked : ResponseBodyKind.UntilClose;
        }

        if (Headers.Contains("Content-Length"))
        {
            return ContentLength is not null
                ? ResponseBodyKind.ContentLength
                : throw new InvalidDataException($"The proxy sent an invalid Content-Length:\r\n{Text}");
        }

        return ResponseBodyKind.UntilClose;
    }

    public string Text => Encoding.Latin1.GetString(Raw);

    /// <summary>Parses the lines of a head (without line ends); throws when the status line is not HTTP.</summary>
    public static ResponseHead Parse(IReadOnlyList<string> lines, byte[] raw)
    {
        var statusLine = lines.Count > 0 ? lines[0] : "";
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/", StringComparison.Ordinal)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status) || parts[1].Length != 3)
        {
            throw new InvalidDataException($"The proxy sent something that is not an HTTP response head:\r\n{Encoding.Latin1.GetString(raw)}");
        }

        return new ResponseHead(statusLine, parts[0], status, HeaderFields.Parse(lines.Skip(1)), raw);
    }
}
