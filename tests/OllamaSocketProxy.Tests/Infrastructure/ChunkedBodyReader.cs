using System.Globalization;
using System.Text;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>Reads chunked framing exactly as sent, for both the upstream (requests) and the raw client (responses).</summary>
internal static class ChunkedBodyReader
{
    private const int MaxTrailerFields = 100;

    public static async Task<RawChunk> ReadChunkAsync(ByteReader reader, CancellationToken cancellationToken)
    {
        var raw = new MemoryStream();
        var sizeLine = await reader.ReadLineAsync(cancellationToken);
        raw.Write(sizeLine);
        if (!EndsWithCrLf(sizeLine) || !TryParseSize(sizeLine, out var size))
        {
            return Broken(raw);
        }

        if (size == 0)
        {
            var trailerLines = new List<string>();
            while (trailerLines.Count <= MaxTrailerFields)
            {
                var line = await reader.ReadLineAsync(cancellationToken);
                raw.Write(line);
                if (!EndsWithCrLf(line))
                {
                    return Broken(raw);
                }

                if (line.Length == 2)
                {
                    return new RawChunk(0, [], raw.ToArray(), HeaderFields.Parse(trailerLines), IsWellFormed: true);
                }

                trailerLines.Add(Encoding.Latin1.GetString(line, 0, line.Length - 2));
            }

            return Broken(raw);
        }

        var data = await reader.ReadExactlyAsync(size, cancellationToken);
        raw.Write(data);
        var lineEnd = await reader.ReadExactlyAsync(2, cancellationToken);
        raw.Write(lineEnd);
        return data.Length == size && lineEnd is [(byte)'\r', (byte)'\n']
            ? new RawChunk(size, data, raw.ToArray(), HeaderFields.Empty, IsWellFormed: true)
            : new RawChunk(size, data, raw.ToArray(), HeaderFields.Empty, IsWellFormed: false);
    }

    /// <summary>All chunks up to and including the last one, or up to the first broken one.</summary>
    public static async Task<IReadOnlyList<RawChunk>> ReadAllAsync(ByteReader reader, CancellationToken cancellationToken)
    {
        var chunks = new List<RawChunk>();
        while (true)
        {
            var chunk = await ReadChunkAsync(reader, cancellationToken);
            chunks.Add(chunk);
            if (chunk.IsLast || !chunk.IsWellFormed)
            {
                return chunks;
            }
        }
    }

    private static RawChunk Broken(MemoryStream raw) => new(-1, [], raw.ToArray(), HeaderFields.Empty, IsWellFormed: false);

    private static bool EndsWithCrLf(byte[] line) => line is [.., (byte)'\r', (byte)'\n'];

    private static bool TryParseSize(byte[] line, out long size)
    {
        var text = Encoding.Latin1.GetString(line, 0, line.Length - 2);
        var semicolon = text.IndexOf(';', StringComparison.Ordinal);
        var digits = (semicolon < 0 ? text : text[..semicolon]).TrimEnd(' ', '\t');
        return long.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out size)
            && digits.Length is > 0 and <= 15;
    }
}
