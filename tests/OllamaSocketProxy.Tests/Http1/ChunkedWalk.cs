using System.Buffers;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>
/// <see cref="ChunkedParser.TryRead"/> called until it stops (need more, invalid or complete), with every run
/// checked against what it consumed. The number of calls is bounded: every run consumes at least one byte.
/// </summary>
public sealed class ChunkedWalk
{
    private readonly List<(ChunkRun Run, long Length)> _runs = [];
    private ChunkedParser _parser;

    public ChunkedStatus Status { get; private set; }
    public bool IsComplete => _parser.IsComplete;
    public long Consumed { get; private set; }
    public IReadOnlyList<(ChunkRun Run, long Length)> Runs => _runs;

    /// <summary>Runs and outcome as text; adjacent data runs merged, since how data arrives decides how it is cut.</summary>
    public string Summary
    {
        get
        {
            var merged = new List<(ChunkRun Run, long Length)>();
            foreach (var run in _runs)
            {
                if (run.Run == ChunkRun.Data && merged.Count > 0 && merged[^1].Run == ChunkRun.Data)
                {
                    merged[^1] = (ChunkRun.Data, merged[^1].Length + run.Length);
                }
                else
                {
                    merged.Add(run);
                }
            }

            var end = IsComplete ? "complete" : Status.ToString();
            return $"{string.Join(" ", merged.Select(r => $"{r.Run}:{r.Length}"))} | {end} consumed={Consumed}";
        }
    }

    public static ChunkedWalk Run(ReadOnlySequence<byte> buffer)
    {
        var walk = new ChunkedWalk();
        walk.Continue(buffer);
        return walk;
    }

    public static ChunkedWalk Run(string latin1, BufferShape shape) => Run(shape.Build(latin1));

    /// <summary>
    /// Feeds <paramref name="body"/> in arrivals cut at <paramref name="cuts"/>, as a relay between reads would: the
    /// unconsumed rest of one read comes back in front of the next arrival, in a buffer of two segments.
    /// </summary>
    public static ChunkedWalk Incrementally(byte[] body, IEnumerable<int> cuts)
    {
        var walk = new ChunkedWalk();
        var kept = Array.Empty<byte>();
        var from = 0;
        foreach (var to in cuts.Append(body.Length))
        {
            var arrival = body.AsSpan(from, to - from).ToArray();
            from = to;
            var buffer = new BufferShape("kept + arrival", _ => [kept.Length, arrival.Length]).Build([.. kept, .. arrival]);

            var before = walk.Consumed;
            walk.Continue(buffer);
            kept = buffer.Slice(walk.Consumed - before).ToArray();
            if (walk.Status == ChunkedStatus.Invalid || walk.IsComplete)
            {
                break;
            }
        }

        return walk;
    }

    private void Continue(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        for (var calls = 0; calls <= buffer.Length + 1; calls++)
        {
            var before = reader.Consumed;
            var status = _parser.TryRead(ref reader, out var run, out var length);
            Status = status;
            if (status != ChunkedStatus.Run)
            {
                // "Read more" leaves a partial line where it is; after "invalid" nothing is read again.
                if (status == ChunkedStatus.NeedMore && reader.Consumed != before)
                {
                    throw new AssertionException($"{status} consumed {reader.Consumed - before} bytes");
                }

                return;
            }

            if (length <= 0 || reader.Consumed - before != length)
            {
                throw new AssertionException($"run {run} says {length} bytes but consumed {reader.Consumed - before}");
            }

            _runs.Add((run, length));
            Consumed += length;
            if (_parser.IsComplete)
            {
                // The bytes after the message belong to the next one: a complete parser leaves them alone.
                var end = reader.Consumed;
                Status = _parser.TryRead(ref reader, out _, out _);
                if (Status != ChunkedStatus.NeedMore || reader.Consumed != end)
                {
                    throw new AssertionException($"a complete parser returned {Status} and consumed {reader.Consumed - end} bytes");
                }

                return;
            }
        }

        throw new AssertionException($"the chunked parser made no progress within {buffer.Length + 2} calls");
    }
}
