using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Fuzz;

/// <summary>
/// Chunked framing (RFC 9112 §7.1) as the body relay walks it: <see cref="ChunkedParser.TryRead"/> until the
/// message is complete, more bytes are needed, or <see cref="ChunkedStatus.Invalid"/>. It must never throw.
/// Each run must be exactly the bytes it consumed, data runs must add up to the declared chunk sizes, and the
/// outcome must not depend on how the bytes were cut into segments or reads.
/// </summary>
internal static class ChunkedTarget
{
    private enum End : byte
    {
        NeedMore,
        Invalid,
        Complete,
    }

    /// <summary>What a walk over the bytes found; <see cref="Runs"/> fingerprints the exact sequence of runs.</summary>
    private readonly record struct Walk(End End, long Consumed, long Data, int Chunks, int TrailerLines, ulong Runs)
    {
        /// <summary>The same outcome, runs aside: a walk over several reads splits data runs where the reads end.</summary>
        public bool SameTotals(Walk other) => this with { Runs = 0 } == other with { Runs = 0 };
    }

    public static object Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        var payload = input.Payload;

        var expected = WalkAll(Segments.One(payload));
        Same(expected, WalkAll(Segments.Split(payload, input.Split)), "split in two");
        Same(expected, WalkAll(Segments.Scattered(payload)), "scattered");
        Same(expected, WalkAll(Segments.One(payload)), "walked twice");

        // The relay's way: what one read left unconsumed comes back at the start of the next read.
        var incremental = WalkInTwoReads(payload, input.Split);
        InvariantViolation.Check(expected.SameTotals(incremental), $"two reads: {incremental} differs from one: {expected}");

        var plausible = ChunkedParser.IsPlausiblePrefix(Segments.One(payload));
        InvariantViolation.Check(plausible == (expected.End != End.Invalid), $"IsPlausiblePrefix says {plausible}, the walk ended {expected.End}");
        return expected;
    }

    private static void Same(Walk expected, Walk actual, string shape) =>
        InvariantViolation.Check(expected == actual, $"{shape}: {actual} differs from one segment: {expected}");

    private static Walk WalkAll(ReadOnlySequence<byte> buffer)
    {
        var parser = default(ChunkedParser);
        var state = new WalkState();
        return Continue(ref parser, ref state, buffer);
    }

    private static Walk WalkInTwoReads(ReadOnlySpan<byte> payload, int split)
    {
        var parser = default(ChunkedParser);
        var state = new WalkState();
        var first = Continue(ref parser, ref state, Segments.One(payload[..split]));
        if (first.End != End.NeedMore)
        {
            return first;
        }

        var before = first.Consumed;
        var second = Continue(ref parser, ref state, Segments.One(payload[(int)before..]));
        return second with { Consumed = before + second.Consumed };
    }

    /// <summary>What the walk knows across reads: the declared size of the chunk in progress and the counts so far.</summary>
    private struct WalkState
    {
        public long Declared;
        public long DataInChunk;
        public long Data;
        public int Chunks;
        public int TrailerLines;
        public long TrailerBytes;
        public bool LastChunkSeen;
        public Fingerprint Runs;

        public WalkState() => Runs = new Fingerprint();
    }

    private static Walk Continue(ref ChunkedParser parser, ref WalkState state, ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);

        // Every run consumes at least one byte, so a walk cannot take more steps than there are bytes.
        for (var steps = 0; steps <= buffer.Length + 1; steps++)
        {
            if (parser.IsComplete)
            {
                var after = reader.Consumed;
                var status = parser.TryRead(ref reader, out _, out _);
                InvariantViolation.Check(status == ChunkedStatus.NeedMore && reader.Consumed == after, $"a complete parser returned {status} and read on");
                return Result(End.Complete, reader.Consumed, state);
            }

            var start = reader.Position;
            var consumedBefore = reader.Consumed;
            var read = parser.TryRead(ref reader, out var run, out var length);
            var advanced = reader.Consumed - consumedBefore;
            if (read == ChunkedStatus.NeedMore)
            {
                InvariantViolation.Check(advanced == 0, $"NeedMore after consuming {advanced} bytes");
                return Result(End.NeedMore, reader.Consumed, state);
            }

            if (read == ChunkedStatus.Invalid)
            {
                // Invalid may leave the reader past the one line it rejected (a size or trailer line, whole); the
                // relay restarts from its own position (BodyRelay returns the run's start), so only the bound matters.
                InvariantViolation.Check(
                    advanced == 0 || (advanced <= ChunkedParser.MaxTrailerSize + 1 && buffer.Slice(start, advanced).ToArray().AsSpan().IndexOf((byte)'\n') == advanced - 1),
                    $"Invalid after consuming {advanced} bytes, not one line");
                return Result(End.Invalid, reader.Consumed, state);
            }

            InvariantViolation.Check(length > 0 && length == advanced, $"{run} run of length {length} consumed {advanced} bytes");
            state.Runs.Add((long)run);
            state.Runs.Add(length);
            var bytes = buffer.Slice(start, length);
            Check(ref state, run, bytes);
        }

        throw new InvariantViolation("the walk did not end: a run consumed nothing");
    }

    /// <summary>Checks a run against an independent reading of the same bytes.</summary>
    private static void Check(ref WalkState state, ChunkRun run, ReadOnlySequence<byte> bytes)
    {
        if (run == ChunkRun.Data)
        {
            state.DataInChunk += bytes.Length;
            state.Data += bytes.Length;
            InvariantViolation.Check(!state.LastChunkSeen && state.DataInChunk <= state.Declared, $"{state.DataInChunk} data bytes in a chunk of {state.Declared}");
            return;
        }

        var line = bytes.ToArray();
        InvariantViolation.Check(line.AsSpan().EndsWith("\r\n"u8) && line.AsSpan(0, line.Length - 2).IndexOfAny((byte)'\r', (byte)'\n') < 0, $"{run} run is not one CRLF-terminated line");
        switch (run)
        {
            case ChunkRun.Framing when line.Length == 2 && state.Declared > 0:
                // The CRLF after a chunk's data: only once all of it was read.
                InvariantViolation.Check(state.DataInChunk == state.Declared, $"chunk ended after {state.DataInChunk} of {state.Declared} bytes");
                state.Declared = state.DataInChunk = 0;
                break;
            case ChunkRun.Framing:
                InvariantViolation.Check(line.Length <= ChunkedParser.MaxSizeLineLength + 1, $"chunk-size line of {line.Length} bytes");
                state.Declared = HexPrefix(line);
                state.DataInChunk = 0;
                state.Chunks++;
                InvariantViolation.Check(state.Declared > 0 && !state.LastChunkSeen, $"chunk of size {state.Declared} read as a chunk");
                break;
            case ChunkRun.LastChunk:
                InvariantViolation.Check(HexPrefix(line) == 0 && state.Declared == 0 && !state.LastChunkSeen, "last-chunk out of place or not of size 0");
                state.LastChunkSeen = true;
                break;
            case ChunkRun.Trailer:
                InvariantViolation.Check(state.LastChunkSeen, "trailer line before the last chunk");
                state.TrailerLines++;
                state.TrailerBytes += line.Length;

                // Each line is bounded before its LF, so the section can end one byte past the constant (32769 bytes).
                InvariantViolation.Check(state.TrailerBytes <= ChunkedParser.MaxTrailerSize + 1, $"trailer section of {state.TrailerBytes} bytes read, limit {ChunkedParser.MaxTrailerSize}");
                break;
        }
    }

    /// <summary>chunk-size = 1*HEXDIG, read here without the parser's code.</summary>
    private static long HexPrefix(ReadOnlySpan<byte> line)
    {
        long size = 0;
        var digits = 0;
        foreach (var b in line)
        {
            var digit = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                _ => -1,
            };
            if (digit < 0)
            {
                break;
            }

            InvariantViolation.Check(++digits <= 15, "chunk size of more than 15 hex digits accepted");
            size = (size * 16) + digit;
        }

        InvariantViolation.Check(digits > 0, "chunk-size line without a size accepted");
        return size;
    }

    private static Walk Result(End end, long consumed, in WalkState state) =>
        new(end, consumed, state.Data, state.Chunks, state.TrailerLines, state.Runs.Value);
}
