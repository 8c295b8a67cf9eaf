using System.Buffers;
using System.Text;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// One way to cut bytes into the segments of a <see cref="ReadOnlySequence{T}"/>, as a pipe may hand them over.
/// Every segment gets its own array, so a parser that assumes contiguous memory reads the wrong bytes, not the right ones.
/// </summary>
public sealed class BufferShape(string name, Func<int, IReadOnlyList<int>> cut)
{
    public string Name => name;

    public ReadOnlySequence<byte> Build(ReadOnlySpan<byte> bytes)
    {
        Segment? first = null;
        Segment? last = null;
        var offset = 0;
        foreach (var length in cut(bytes.Length))
        {
            var memory = bytes.Slice(offset, length).ToArray();
            offset += length;
            last = last is null ? first = new Segment(memory, 0) : last.Append(memory);
        }

        if (offset != bytes.Length)
        {
            throw new InvalidOperationException($"shape {name} cut {offset} of {bytes.Length} bytes");
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    public ReadOnlySequence<byte> Build(string latin1) => Build(Encoding.Latin1.GetBytes(latin1));

    public override string ToString() => name;

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

/// <summary>The buffer shapes every parser case runs over (docs/ARCHITECTURE.md#tests), and the crossing of cases with them.</summary>
public static class BufferShapes
{
    public static readonly BufferShape OneSegment = new("one segment", n => n == 0 ? [] : [n]);

    public static readonly BufferShape OneBytePerSegment = new("one byte per segment", n => Enumerable.Repeat(1, n).ToArray());

    /// <summary>Random segment lengths, from a fixed seed and the input's length, so a failure reproduces.</summary>
    public static BufferShape RandomSplits(int seed) => new($"random splits, seed {seed}", n =>
    {
        var random = new Random(unchecked((seed * 7919) + n));
        var longest = random.Next(2, 40);
        var lengths = new List<int>();
        for (var left = n; left > 0;)
        {
            var length = Math.Min(left, random.Next(1, longest + 1));
            lengths.Add(length);
            left -= length;
        }

        return lengths;
    });

    /// <summary>Random splits with empty segments among them (first, last and between), which a sequence may hold.</summary>
    public static BufferShape RandomSplitsWithEmptySegments(int seed) => new($"random splits with empty segments, seed {seed}", n =>
    {
        var random = new Random(unchecked((seed * 104729) + n));
        var lengths = new List<int> { 0 };
        for (var left = n; left > 0;)
        {
            var length = Math.Min(left, random.Next(1, 9));
            lengths.Add(length);
            left -= length;
            if (random.Next(3) == 0)
            {
                lengths.Add(0);
            }
        }

        lengths.Add(0);
        return lengths;
    });

    public static IReadOnlyList<BufferShape> All { get; } =
    [
        OneSegment,
        OneBytePerSegment,
        RandomSplits(1),
        RandomSplits(2),
        RandomSplits(3),
        RandomSplitsWithEmptySegments(4),
    ];

    /// <summary>A named case: its arguments, to which each shape is appended as the last one.</summary>
    public static NamedCase Case(string name, params object?[] args) => new(name, args);

    /// <summary>Every case once per shape, named "case, shape".</summary>
    public static IEnumerable<TestCaseData> Cross(params NamedCase[] cases) =>
        from c in cases
        from shape in All
        select new TestCaseData([.. c.Args, shape]).SetArgDisplayNames(c.Name, shape.Name);

    /// <summary>Each shape alone, for tests whose input is fixed.</summary>
    public static IEnumerable<TestCaseData> Each() =>
        All.Select(shape => new TestCaseData(shape).SetArgDisplayNames(shape.Name));
}

public sealed record NamedCase(string Name, object?[] Args);
