using System.Buffers;

namespace OllamaSocketProxy.Fuzz;

/// <summary>
/// The buffer shapes a pipe can hand the parsers: one segment, two segments split anywhere, one byte per segment.
/// Every segment is its own array of exactly its length, so a read past the end of a segment cannot go unnoticed.
/// </summary>
internal static class Segments
{
    /// <summary>Above this length the byte-per-segment shape uses 16-byte segments, to keep executions fast.</summary>
    private const int BytePerSegmentLimit = 512;

    public static ReadOnlySequence<byte> One(ReadOnlySpan<byte> data) => new(data.ToArray());

    public static ReadOnlySequence<byte> Split(ReadOnlySpan<byte> data, int at) =>
        Build(data, [at, data.Length - at]);

    public static ReadOnlySequence<byte> Scattered(ReadOnlySpan<byte> data)
    {
        var size = data.Length <= BytePerSegmentLimit ? 1 : 16;
        var lengths = new int[(data.Length + size - 1) / size];
        for (var i = 0; i < lengths.Length; i++)
        {
            lengths[i] = Math.Min(size, data.Length - (i * size));
        }

        return Build(data, lengths);
    }

    private static ReadOnlySequence<byte> Build(ReadOnlySpan<byte> data, int[] lengths)
    {
        Segment? first = null;
        Segment? last = null;
        var offset = 0;
        foreach (var length in lengths)
        {
            // Empty segments are legal in a ReadOnlySequence and do occur (a pipe's last block can be empty).
            var segment = new Segment(data.Slice(offset, length).ToArray(), last);
            first ??= segment;
            last = segment;
            offset += length;
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes, Segment? previous)
        {
            Memory = bytes;
            if (previous is not null)
            {
                RunningIndex = previous.RunningIndex + previous.Memory.Length;
                previous.Next = this;
            }
        }
    }
}
