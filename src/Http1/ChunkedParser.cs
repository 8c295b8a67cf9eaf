using System.Buffers;

namespace OllamaSocketProxy.Http1;

/// <summary>What a run of chunked bytes is, as returned by <see cref="ChunkedParser.TryRead"/>.</summary>
public enum ChunkRun : byte
{
    /// <summary>A chunk-size line (with extensions) or the CRLF after a chunk's data.</summary>
    Framing,

    /// <summary>Chunk data: the payload.</summary>
    Data,

    /// <summary>The last-chunk line, <c>0[;ext]CRLF</c>.</summary>
    LastChunk,

    /// <summary>A trailer field line, or the empty line that ends the message (then <see cref="ChunkedParser.IsComplete"/>).</summary>
    Trailer,
}

public enum ChunkedStatus : byte
{
    /// <summary>A run was read.</summary>
    Run,

    /// <summary>Nothing more can be read from these bytes; read more (a partial line stays unconsumed).</summary>
    NeedMore,

    /// <summary>The framing is malformed (RFC 9112 §7.1): the message can be neither relayed nor completed.</summary>
    Invalid,
}

/// <summary>
/// Walks chunked framing (RFC 9112 §7.1) without changing a byte, so the proxy can relay it untouched and
/// still know where the message ends. Lines are bounded, sizes are parsed by hand with overflow checks.
/// One instance per message; a struct kept by the relay between reads.
/// </summary>
public struct ChunkedParser
{
    /// <summary>Longest chunk-size line, extensions included (Kestrel and nginx refuse far less in practice).</summary>
    public const int MaxSizeLineLength = 4 * 1024;

    /// <summary>Largest trailer section.</summary>
    public const int MaxTrailerSize = 32 * 1024;

    private enum Mode : byte { Size, Data, DataEnd, Trailer, Complete }

    private Mode _mode;
    private long _remaining;
    private int _trailerSize;

    public readonly bool IsComplete => _mode == Mode.Complete;

    /// <summary>Whether <paramref name="body"/> could begin a valid chunked body: no framing error in the bytes present.</summary>
    public static bool IsPlausiblePrefix(ReadOnlySequence<byte> body)
    {
        var parser = default(ChunkedParser);
        var reader = new SequenceReader<byte>(body);
        while (!parser.IsComplete)
        {
            switch (parser.TryRead(ref reader, out _, out _))
            {
                case ChunkedStatus.Invalid:
                    return false;
                case ChunkedStatus.NeedMore:
                    return true;
            }
        }

        return true;
    }

    /// <summary>
    /// Reads the next run from <paramref name="reader"/> and advances past it. A line is only consumed once
    /// it is complete; data is consumed as far as it is present.
    /// </summary>
    public ChunkedStatus TryRead(ref SequenceReader<byte> reader, out ChunkRun run, out long length)
    {
        run = ChunkRun.Framing;
        length = 0;
        switch (_mode)
        {
            case Mode.Size:
                return ReadSizeLine(ref reader, out run, out length);

            case Mode.Data:
                length = Math.Min(_remaining, reader.Remaining);
                if (length == 0)
                {
                    return ChunkedStatus.NeedMore;
                }

                reader.Advance(length);
                _remaining -= length;
                _mode = _remaining == 0 ? Mode.DataEnd : Mode.Data;
                run = ChunkRun.Data;
                return ChunkedStatus.Run;

            case Mode.DataEnd:
                if (reader.Remaining < 2)
                {
                    return ChunkedStatus.NeedMore;
                }

                if (!reader.IsNext("\r\n"u8, advancePast: true))
                {
                    return ChunkedStatus.Invalid;
                }

                length = 2;
                _mode = Mode.Size;
                return ChunkedStatus.Run;

            case Mode.Trailer:
                run = ChunkRun.Trailer;
                return ReadTrailerLine(ref reader, out length);

            default:
                return ChunkedStatus.NeedMore;
        }
    }

    private ChunkedStatus ReadSizeLine(ref SequenceReader<byte> reader, out ChunkRun run, out long length)
    {
        run = ChunkRun.Framing;
        var probe = reader;
        if (!TryReadLine(ref probe, MaxSizeLineLength, out var raw, out length, out var status))
        {
            return status;
        }

        // A line that straddles segments is copied to the stack: it is at most MaxSizeLineLength bytes.
        Span<byte> scratch = raw.IsSingleSegment ? default : stackalloc byte[MaxSizeLineLength];
        var line = Contiguous(raw, scratch);

        // chunk-size = 1*HEXDIG, then optional BWS ";" extensions (RFC 9112 §7.1, §7.1.1).
        long size = 0;
        var digits = 0;
        foreach (var b in line)
        {
            var digit = HttpSyntax.HexValue(b);
            if (digit < 0)
            {
                break;
            }

            // 15 hex digits keep the size below 2^60: far beyond any body, and no overflow.
            if (++digits > 15)
            {
                return ChunkedStatus.Invalid;
            }

            size = (size << 4) | (uint)digit;
        }

        if (digits == 0 || !IsValidExtension(line[digits..]))
        {
            return ChunkedStatus.Invalid;
        }

        reader = probe;
        if (size == 0)
        {
            run = ChunkRun.LastChunk;
            _mode = Mode.Trailer;
        }
        else
        {
            _remaining = size;
            _mode = Mode.Data;
        }

        return ChunkedStatus.Run;
    }

    private ChunkedStatus ReadTrailerLine(ref SequenceReader<byte> reader, out long length)
    {
        var probe = reader;
        if (!TryReadLine(ref probe, MaxTrailerSize - _trailerSize, out var raw, out length, out var status))
        {
            return status;
        }

        if (raw.IsEmpty)
        {
            reader = probe;
            _mode = Mode.Complete;
            return ChunkedStatus.Run;
        }

        // Trailer lines may be longer than a stack copy should be: a straddling one goes through the array pool.
        byte[]? rented = raw.IsSingleSegment ? null : ArrayPool<byte>.Shared.Rent((int)raw.Length);
        try
        {
            if (!FieldLineParser.TryParse(Contiguous(raw, rented), 0, out _))
            {
                return ChunkedStatus.Invalid;
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        reader = probe;
        _trailerSize += (int)length;
        return ChunkedStatus.Run;
    }

    /// <summary>
    /// Reads one CRLF-terminated line of at most <paramref name="maxLength"/> bytes, CRLF excluded from
    /// <paramref name="line"/> and included in <paramref name="length"/>. A longer line, or one that ends in a bare
    /// LF, is invalid; an incomplete one is left unread.
    /// </summary>
    private static bool TryReadLine(ref SequenceReader<byte> reader, int maxLength, out ReadOnlySequence<byte> line, out long length, out ChunkedStatus status)
    {
        line = default;
        length = 0;
        var probe = reader;
        if (!probe.TryReadTo(out ReadOnlySequence<byte> raw, (byte)'\n'))
        {
            status = reader.Remaining > maxLength ? ChunkedStatus.Invalid : ChunkedStatus.NeedMore;
            return false;
        }

        // raw holds the line and its CR; the LF makes the line's full length raw.Length + 1.
        if (raw.Length + 1 > maxLength || raw.Length == 0 || raw.Slice(raw.Length - 1).FirstSpan[0] != '\r')
        {
            status = ChunkedStatus.Invalid;
            return false;
        }

        line = raw.Slice(0, raw.Length - 1);
        length = raw.Length + 1;
        reader = probe;
        status = ChunkedStatus.Run;
        return true;
    }

    private static ReadOnlySpan<byte> Contiguous(in ReadOnlySequence<byte> bytes, Span<byte> scratch)
    {
        if (bytes.IsSingleSegment)
        {
            return bytes.FirstSpan;
        }

        bytes.CopyTo(scratch);
        return scratch[..(int)bytes.Length];
    }

    /// <summary>chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): tokens, quoted strings, no controls.</summary>
    private static bool IsValidExtension(ReadOnlySpan<byte> extension)
    {
        var trimmed = extension.TrimStart(" \t"u8);
        if (trimmed.IsEmpty)
        {
            return extension.IsEmpty;
        }

        return trimmed[0] == ';' && HttpSyntax.IsFieldValue(trimmed);
    }
}
