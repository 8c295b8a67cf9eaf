using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace OllamaSocketProxy.Soak;

/// <summary>A message head as the soak's two ends need it: first line and fields, nothing validated beyond that.</summary>
internal sealed class Head
{
    private readonly List<(string Name, string Value)> _fields = [];

    public Head(string text)
    {
        var lines = text.Split("\r\n");
        FirstLine = lines[0];
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                _fields.Add((line[..colon], line[(colon + 1)..].Trim()));
            }
        }
    }

    public string FirstLine { get; }

    /// <summary>The status of a response head; 0 if the first line is not a status line.</summary>
    public int Status => FirstLine.Length >= 12 && int.TryParse(FirstLine.AsSpan(9, 3), out var status) ? status : 0;

    /// <summary>The request-target of a request head.</summary>
    public string Target => FirstLine.Split(' ') is [_, var target, _] ? target : "";

    public string? this[string name] => _fields.LastOrDefault(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    public bool IsChunked => this["Transfer-Encoding"]?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true;

    public long? ContentLength => long.TryParse(this["Content-Length"], out var length) ? length : null;

    public bool SaysClose => this["Connection"]?.Contains("close", StringComparison.OrdinalIgnoreCase) == true;
}

/// <summary>How much of a body arrived, its FNV-1a hash, and whether its framing completed.</summary>
internal readonly record struct BodyRead(long Bytes, uint Hash, bool Complete);

/// <summary>The connection ended (cleanly or by reset) where the framing said more was to come.</summary>
internal sealed class WireEndedException(string message) : Exception(message);

/// <summary>Reading HTTP/1.1 framing from a pipe: heads, Content-Length bodies, chunked bodies.</summary>
internal static class Wire
{
    private const int MaxHead = 64 * 1024;

    public const uint FnvSeed = 2166136261;

    public static uint Fnv(uint hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 16777619;
        }

        return hash;
    }

    /// <summary>The next head, or null when the connection ended cleanly before its first byte.</summary>
    public static async ValueTask<Head?> ReadHeadAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            var end = Find(buffer, "\r\n\r\n"u8);
            if (end is { } position)
            {
                var text = Encoding.Latin1.GetString(buffer.Slice(0, position));
                reader.AdvanceTo(buffer.GetPosition(4, position));
                return new Head(text);
            }

            if (buffer.Length > MaxHead)
            {
                throw new InvalidDataException("head too large");
            }

            if (read.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                return buffer.IsEmpty ? null : throw new WireEndedException("connection ended inside a head");
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Reads a body of <paramref name="length"/> bytes, or what arrives of it before the end; the hash goes on from <paramref name="hash"/>.</summary>
    public static async ValueTask<BodyRead> ReadContentAsync(PipeReader reader, long length, CancellationToken cancellationToken, uint hash = FnvSeed)
    {
        long received = 0;
        while (received < length)
        {
            var read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            var take = buffer.Slice(0, Math.Min(buffer.Length, length - received));
            foreach (var segment in take)
            {
                hash = Fnv(hash, segment.Span);
            }

            received += take.Length;
            reader.AdvanceTo(take.End);
            if (received < length && read.IsCompleted && take.Length == buffer.Length)
            {
                return new BodyRead(received, hash, false);
            }
        }

        return new BodyRead(received, hash, true);
    }

    /// <summary>Reads everything until the peer closes (a response framed by the end of the connection).</summary>
    public static async ValueTask<BodyRead> ReadToEndAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        var hash = FnvSeed;
        long received = 0;
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            foreach (var segment in read.Buffer)
            {
                hash = Fnv(hash, segment.Span);
            }

            received += read.Buffer.Length;
            reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                return new BodyRead(received, hash, true);
            }
        }
    }

    /// <summary>
    /// Reads a chunked body (RFC 9112 §7.1), trailers included, hashing the chunk data. With
    /// <paramref name="stopAfterData"/> it returns as soon as that many data bytes arrived (a client about to abort).
    /// </summary>
    public static async ValueTask<BodyRead> ReadChunkedAsync(PipeReader reader, CancellationToken cancellationToken, long stopAfterData = long.MaxValue)
    {
        var hash = FnvSeed;
        long received = 0;
        while (true)
        {
            var line = await ReadLineAsync(reader, cancellationToken).ConfigureAwait(false);
            if (line is null)
            {
                return new BodyRead(received, hash, false);
            }

            var sizeText = line.Split(';')[0].Trim();
            if (!long.TryParse(sizeText, System.Globalization.NumberStyles.AllowHexSpecifier, null, out var size) || size < 0)
            {
                throw new InvalidDataException($"bad chunk size line '{line}'");
            }

            if (size == 0)
            {
                // Trailer fields, then the empty line.
                while (true)
                {
                    var trailer = await ReadLineAsync(reader, cancellationToken).ConfigureAwait(false);
                    if (trailer is null)
                    {
                        return new BodyRead(received, hash, false);
                    }

                    if (trailer.Length == 0)
                    {
                        return new BodyRead(received, hash, true);
                    }
                }
            }

            var data = await ReadContentAsync(reader, size, cancellationToken, hash).ConfigureAwait(false);
            hash = data.Hash;
            received += data.Bytes;
            if (!data.Complete)
            {
                return new BodyRead(received, hash, false);
            }

            if (received >= stopAfterData)
            {
                return new BodyRead(received, hash, false);
            }

            var crlf = await ReadLineAsync(reader, cancellationToken).ConfigureAwait(false);
            if (crlf is null)
            {
                return new BodyRead(received, hash, false);
            }

            if (crlf.Length != 0)
            {
                throw new InvalidDataException("chunk data not followed by CRLF");
            }
        }
    }

    /// <summary>A CRLF-terminated line without its CRLF; null when the connection ends first.</summary>
    private static async ValueTask<string?> ReadLineAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = read.Buffer;
            if (Find(buffer, "\r\n"u8) is { } end)
            {
                var line = Encoding.Latin1.GetString(buffer.Slice(0, end));
                reader.AdvanceTo(buffer.GetPosition(2, end));
                return line;
            }

            if (buffer.Length > 8192)
            {
                throw new InvalidDataException("line too long");
            }

            if (read.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                return null;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static SequencePosition? Find(ReadOnlySequence<byte> buffer, ReadOnlySpan<byte> delimiter)
    {
        var reader = new SequenceReader<byte>(buffer);
        return reader.TryReadTo(out ReadOnlySequence<byte> _, delimiter, advancePastDelimiter: false) ? reader.Position : null;
    }
}
