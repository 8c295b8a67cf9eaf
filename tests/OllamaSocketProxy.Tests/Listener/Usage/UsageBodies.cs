using System.Buffers;
using System.Text;
using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Http1;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Usage;

/// <summary>How a body goes over the wire.</summary>
public enum Chunking
{
    /// <summary>As is (Content-Length, or read until close).</summary>
    None,

    /// <summary>One chunk per line, as Ollama's server flushes each value it writes.</summary>
    PerLine,

    /// <summary>Chunks of seven bytes, some with extensions, and a trailer section (RFC 9112 §7.1).</summary>
    SmallWithExtensionsAndTrailer,
}

/// <summary>Builds wire bodies and feeds them to a <see cref="UsageReader"/> read after read.</summary>
public static class UsageBodies
{
    public static byte[] Encode(string body, Chunking chunking) => Encode(Encoding.UTF8.GetBytes(body), chunking);

    public static byte[] Encode(byte[] body, Chunking chunking)
    {
        if (chunking == Chunking.None)
        {
            return body;
        }

        var wire = new List<byte>();
        var pieces = chunking == Chunking.PerLine ? SplitAfterLineFeeds(body) : SplitEvery(body, 7);
        for (var i = 0; i < pieces.Count; i++)
        {
            var extension = chunking == Chunking.SmallWithExtensionsAndTrailer && i % 3 == 1 ? ";n=\"x;y\"" : "";
            wire.AddRange(Encoding.ASCII.GetBytes($"{pieces[i].Length:x}{extension}\r\n"));
            wire.AddRange(pieces[i]);
            wire.AddRange("\r\n"u8.ToArray());
        }

        var trailer = chunking == Chunking.SmallWithExtensionsAndTrailer ? "X-Usage: {\"usage\":{\"prompt_tokens\":1}}\r\n" : "";
        wire.AddRange(Encoding.ASCII.GetBytes($"0\r\n{trailer}\r\n"));
        return [.. wire];
    }

    public static bool IsChunked(Chunking chunking) => chunking != Chunking.None;

    /// <summary>The counts a fresh reader finds in <paramref name="reads"/>, fed in order.</summary>
    public static (long? Prompt, long? Completion) Read(UsageFormat format, bool chunked, IEnumerable<ReadOnlySequence<byte>> reads)
    {
        var reader = new UsageReader();
        reader.Reset(format, chunked);
        foreach (var read in reads)
        {
            reader.Observe(read);
        }

        reader.TryGetCounts(out var prompt, out var completion);
        return (prompt, completion);
    }

    /// <summary>One read of contiguous bytes.</summary>
    public static ReadOnlySequence<byte> Whole(ReadOnlySpan<byte> bytes) => new(bytes.ToArray());

    /// <summary>One read of contiguous bytes, without a copy.</summary>
    public static ReadOnlySequence<byte> Whole(byte[] bytes, int start, int length) => new(bytes, start, length);

    /// <summary>Reads of random lengths (from a fixed seed), each one cut into random segments, some of them empty.</summary>
    public static IEnumerable<ReadOnlySequence<byte>> RandomReads(byte[] wire, int seed)
    {
        var random = new Random(seed);
        var shape = BufferShapes.RandomSplitsWithEmptySegments(seed);
        for (var offset = 0; offset < wire.Length;)
        {
            var length = Math.Min(wire.Length - offset, random.Next(1, 200));
            yield return shape.Build(wire.AsSpan(offset, length));
            offset += length;
        }
    }

    private static List<byte[]> SplitAfterLineFeeds(byte[] body)
    {
        var pieces = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] == '\n')
            {
                pieces.Add(body[start..(i + 1)]);
                start = i + 1;
            }
        }

        if (start < body.Length)
        {
            pieces.Add(body[start..]);
        }

        return pieces;
    }

    private static List<byte[]> SplitEvery(byte[] body, int size)
    {
        var pieces = new List<byte[]>();
        for (var i = 0; i < body.Length; i += size)
        {
            pieces.Add(body[i..Math.Min(body.Length, i + size)]);
        }

        return pieces;
    }
}
