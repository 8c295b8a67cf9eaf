using System.Buffers;
using System.IO.Pipelines;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// <see cref="BodyRelay.CopyAsync"/> over a pair of pipes, no sockets: one body copied as its framing says
/// (Content-Length, chunked untouched, without trailers or de-chunked, until close), stopped exactly at its end, and
/// every way it can end named by its <see cref="RelayResult"/>. The source is fed in the pieces of a buffer shape
/// while the relay runs, so the chunked framing is also walked across reads that split it anywhere.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class BodyRelayTests
{
    private const string Chunked = "5;ext=\"a b\"\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";

    private static readonly BodyFraming ElevenBytes = new(BodyKind.ContentLength, 11);

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task ContentLengthBody_IsCopiedExactlyAndCompletes(BufferShape shape)
    {
        var relayed = await RelayAsync("hello world", ElevenBytes, shape);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(relayed.Result, Is.EqualTo(RelayResult.Completed));
            Assert.That(relayed.Bytes, Is.EqualTo(11));
            Assert.That(relayed.ExtraSourceBytes, Is.False);
            Assert.That(relayed.Written, Is.EqualTo("hello world"));
            Assert.That(relayed.Observed, Is.EqualTo(relayed.Written));
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task ChunkedUntouched_PassesEveryByteExtensionsAndTrailersIncluded(BufferShape shape)
    {
        var relayed = await RelayAsync(Chunked, BodyFraming.Chunked, shape, ChunkedRelayMode.Untouched);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(relayed.Result, Is.EqualTo(RelayResult.Completed));
            Assert.That(relayed.Bytes, Is.EqualTo(11), "Bytes counts chunk data only.");
            Assert.That(relayed.Written, Is.EqualTo(Chunked));
            Assert.That(relayed.Observed, Is.EqualTo(relayed.Written));
        }
    }

    /// <summary>Request bodies go upstream without trailers: the last chunk bare (docs/BEHAVIOUR.md#forwarded-request).</summary>
    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task ChunkedWithoutTrailers_EndsWithABareLastChunk(BufferShape shape)
    {
        var relayed = await RelayAsync(Chunked, BodyFraming.Chunked, shape, ChunkedRelayMode.WithoutTrailers);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(relayed.Result, Is.EqualTo(RelayResult.Completed));
            Assert.That(relayed.Bytes, Is.EqualTo(11));
            Assert.That(relayed.Written, Is.EqualTo("5;ext=\"a b\"\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
        }
    }

    /// <summary>An HTTP/1.0 client gets only the chunk data (docs/BEHAVIOUR.md#response).</summary>
    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task ChunkedDechunked_PassesOnlyTheData(BufferShape shape)
    {
        var relayed = await RelayAsync(Chunked, BodyFraming.Chunked, shape, ChunkedRelayMode.Dechunked);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(relayed.Result, Is.EqualTo(RelayResult.Completed));
            Assert.That(relayed.Bytes, Is.EqualTo(11));
            Assert.That(relayed.Written, Is.EqualTo("hello world"));
            Assert.That(relayed.Observed, Is.EqualTo(relayed.Written));
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task UntilClose_CopiesEverythingUntilTheSourceEnds(BufferShape shape)
    {
        var relayed = await RelayAsync("{\"models\":[]}\n", BodyFraming.UntilClose, shape);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(relayed.Result, Is.EqualTo(RelayResult.Completed));
            Assert.That(relayed.Bytes, Is.EqualTo(14));
            Assert.That(relayed.Written, Is.EqualTo("{\"models\":[]}\n"));
            Assert.That(relayed.Observed, Is.EqualTo(relayed.Written));
        }
    }

    [Test]
    public async Task UntilCloseWithAnEmptySource_CompletesWithNoBytes()
    {
        var relayed = await RelayAsync("", BodyFraming.UntilClose, OneSegment);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(relayed.Result, Is.EqualTo(RelayResult.Completed));
            Assert.That(relayed.Bytes, Is.Zero);
            Assert.That(relayed.Written, Is.Empty);
        }
    }

    /// <summary>Pipelining: what follows the body is the next message, left in the source unexamined (RFC 9112 §9.3.2).</summary>
    [TestCase("ContentLength", "hello world", "hello world")]
    [TestCase("Chunked", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")]
    public async Task BytesAfterTheBody_AreLeftInTheSourceAndFlagged(string kind, string body, string written)
    {
        const string next = "GET /api/tags HTTP/1.1\r\n";
        var framing = kind == "Chunked" ? BodyFraming.Chunked : ElevenBytes;

        var relayed = await RelayAsync(body + next, framing, OneSegment, completeSource: false, writeAllFirst: true);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(relayed.Result, Is.EqualTo(RelayResult.Completed));
            Assert.That(relayed.ExtraSourceBytes, Is.True);
            Assert.That(relayed.Written, Is.EqualTo(written));
            Assert.That(relayed.LeftInSource, Is.EqualTo(next));
        }
    }

    /// <summary>
    /// No body: nothing is read, since a read would wait for bytes that never come; bytes already there belong to no
    /// message (RFC 9112 §6.3) and are flagged.
    /// </summary>
    [TestCase("None", "", false)]
    [TestCase("None", "HTTP/1.1 200 OK\r\n", true)]
    [TestCase("ContentLength", "", false)]
    [TestCase("ContentLength", "STALE!", true)]
    public async Task NoBodyToCopy_CompletesWithoutWaitingAndFlagsBytesAlreadyThere(string kind, string pending, bool extra)
    {
        var framing = kind == "None" ? BodyFraming.None : new BodyFraming(BodyKind.ContentLength, 0);

        var relayed = await RelayAsync(pending, framing, OneSegment, completeSource: false, writeAllFirst: true);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(relayed.Result, Is.EqualTo(RelayResult.Completed));
            Assert.That(relayed.Bytes, Is.Zero);
            Assert.That(relayed.ExtraSourceBytes, Is.EqualTo(extra));
            Assert.That(relayed.Written, Is.Empty);
            Assert.That(relayed.LeftInSource, Is.EqualTo(pending));
        }
    }

    /// <summary>Only chunked bodies can grow past the limit while they stream: a Content-Length is judged before.</summary>
    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task ChunkedBodyPastTheLimit_TooLargeAndNoMoreThanTheLimitWritten(BufferShape shape)
    {
        var relayed = await RelayAsync("6\r\naaaaaa\r\n6\r\nbbbbbb\r\n0\r\n\r\n", BodyFraming.Chunked, shape, maxBytes: 10);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(relayed.Result, Is.EqualTo(RelayResult.TooLarge));
            Assert.That(relayed.Written.Count(c => c is 'a' or 'b'), Is.LessThanOrEqualTo(10), relayed.Written);
            Assert.That(relayed.Written, Does.Not.EndWith("0\r\n\r\n"));
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task ContentLengthSourceEndsEarly_SourceEnded(BufferShape shape)
    {
        var relayed = await RelayAsync("hello", ElevenBytes, shape);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(relayed.Result, Is.EqualTo(RelayResult.SourceEnded));
            Assert.That(relayed.Bytes, Is.EqualTo(5));
            Assert.That(relayed.Written, Is.EqualTo("hello"));
        }
    }

    [TestCaseSource(typeof(BufferShapes), nameof(Each))]
    public async Task ChunkedSourceEndsBeforeTheLastChunk_SourceEnded(BufferShape shape)
    {
        var relayed = await RelayAsync("5\r\nhello\r\n", BodyFraming.Chunked, shape);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(relayed.Result, Is.EqualTo(RelayResult.SourceEnded));
            Assert.That(relayed.Bytes, Is.EqualTo(5));
            Assert.That(relayed.Written, Does.Not.Contain("0\r\n"));
        }
    }

    /// <summary>RFC 9112 §7.1: malformed framing can be neither relayed nor completed; nothing past the fault is written.</summary>
    public static IEnumerable<TestCaseData> InvalidChunks() => Cross(
        Case("size not hex", "zz\r\nhello\r\n0\r\n\r\n"),
        Case("data not followed by CRLF", "5\r\nhelloXX0\r\n\r\n"),
        Case("negative size", "-5\r\nhello\r\n0\r\n\r\n"),
        Case("size overflow", "fffffffffffffffffff\r\nhello\r\n0\r\n\r\n"));

    [TestCaseSource(nameof(InvalidChunks))]
    public async Task InvalidChunkFraming_SourceInvalid(string input, BufferShape shape)
    {
        var relayed = await RelayAsync(input, BodyFraming.Chunked, shape);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(relayed.Result, Is.EqualTo(RelayResult.SourceInvalid));
            Assert.That(input, Does.StartWith(relayed.Written), "The relay wrote what it did not receive.");
            Assert.That(relayed.Written, Does.Not.Contain("XX").And.Not.EndWith("0\r\n\r\n"));
        }
    }

    [Test]
    public async Task SourceFailsWithAnError_SourceFailed()
    {
        var source = new Pipe();
        var destination = new Pipe(Unbounded);
        using var timeouts = NewTimeouts(TimeProvider.System);
        using var guard = EventTimeout.NewSource();

        var relay = BodyRelay.CopyAsync(source.Reader, destination.Writer, ElevenBytes, ChunkedRelayMode.Untouched, long.MaxValue, timeouts, guard.Token, guard.Token);
        await source.Writer.WriteAsync(Latin1.Bytes("hello"));
        Assert.That(await ReadAsync(destination.Reader, 5), Is.EqualTo("hello"));
        await source.Writer.CompleteAsync(new IOException("connection reset"));
        var (result, bytes, _) = await relay.AsTask().OrTimeoutAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result, Is.EqualTo(RelayResult.SourceFailed));
            Assert.That(bytes, Is.EqualTo(5));
        }
    }

    [Test]
    public async Task DestinationReaderGoneMidBody_DestinationFailed()
    {
        var source = new Pipe();
        var destination = new Pipe(Unbounded);
        using var timeouts = NewTimeouts(TimeProvider.System);
        using var guard = EventTimeout.NewSource();
        await destination.Reader.CompleteAsync();

        await source.Writer.WriteAsync(Latin1.Bytes("hello"));
        var (result, bytes, _) = await BodyRelay.CopyAsync(
            source.Reader, destination.Writer, ElevenBytes, ChunkedRelayMode.Untouched, long.MaxValue, timeouts, guard.Token, guard.Token).AsTask().OrTimeoutAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result, Is.EqualTo(RelayResult.DestinationFailed));
            Assert.That(bytes, Is.EqualTo(5));
        }
    }

    [Test]
    public async Task ReadTokenFiresWhileWaitingForTheBody_Canceled()
    {
        var source = new Pipe();
        var destination = new Pipe(Unbounded);
        using var timeouts = NewTimeouts(TimeProvider.System);
        using var guard = EventTimeout.NewSource();
        using var read = new CancellationTokenSource();

        var relay = BodyRelay.CopyAsync(source.Reader, destination.Writer, ElevenBytes, ChunkedRelayMode.Untouched, long.MaxValue, timeouts, read.Token, guard.Token);
        await source.Writer.WriteAsync(Latin1.Bytes("hello"));
        Assert.That(await ReadAsync(destination.Reader, 5), Is.EqualTo("hello"));
        await read.CancelAsync();
        var (result, bytes, _) = await relay.AsTask().OrTimeoutAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result, Is.EqualTo(RelayResult.Canceled));
            Assert.That(bytes, Is.EqualTo(5));
        }
    }

    [Test]
    public async Task FlushTokenFiresWhileTheDestinationIsFull_Canceled()
    {
        var source = new Pipe();
        var destination = new Pipe(new PipeOptions(pauseWriterThreshold: 4, resumeWriterThreshold: 2));
        using var timeouts = NewTimeouts(TimeProvider.System);
        using var guard = EventTimeout.NewSource();
        using var flush = new CancellationTokenSource();

        await source.Writer.WriteAsync(Latin1.Bytes("hello world"));
        var relay = BodyRelay.CopyAsync(source.Reader, destination.Writer, ElevenBytes, ChunkedRelayMode.Untouched, long.MaxValue, timeouts, guard.Token, flush.Token).AsTask();
        await EventTimeout.UntilAsync(() => destination.Reader.TryRead(out var pending) && Examine(destination.Reader, pending) == 11);
        Assert.That(relay.IsCompleted, Is.False, "The flush did not wait for the full destination.");
        await flush.CancelAsync();
        var (result, _, _) = await relay.OrTimeoutAsync();

        Assert.That(result, Is.EqualTo(RelayResult.Canceled));
    }

    /// <summary>
    /// The idle deadline of a response body (PROXY_UPSTREAM_IDLE_TIMEOUT) is re-armed before every read: pieces that
    /// come within it never cut the body, however long the whole takes (docs/BEHAVIOUR.md#limits-and-timeouts).
    /// </summary>
    [Test]
    public async Task PiecesWithinTheIdleTimeout_AreNeverCut()
    {
        var idle = TimeSpan.FromSeconds(5);
        var clock = new ObservedClock();
        var source = new Pipe();
        var destination = new Pipe(Unbounded);
        using var timeouts = NewTimeouts(clock);
        timeouts.ArmIdle(TimeoutReason.ResponseBody, idle);
        using var guard = EventTimeout.NewSource();

        var relay = BodyRelay.CopyAsync(
            source.Reader, destination.Writer, new BodyFraming(BodyKind.ContentLength, 10), ChunkedRelayMode.Untouched, long.MaxValue, timeouts, timeouts.Token, guard.Token);
        for (var piece = 0; piece < 10; piece++)
        {
            // Each piece comes 4 s after the last read re-armed the deadline; only a re-arm at this fake time
            // (not the first arming) lets the next 4 s pass.
            clock.Advance(TimeSpan.FromSeconds(4));
            await source.Writer.WriteAsync(Latin1.Bytes($"{piece}"));
            Assert.That(await ReadAsync(destination.Reader, 1), Is.EqualTo($"{piece}"));
            if (piece < 9)
            {
                await clock.WaitForArmedAsync(idle);
            }
        }

        var (result, bytes, _) = await relay.AsTask().OrTimeoutAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result, Is.EqualTo(RelayResult.Completed), "40 fake seconds in pieces 4 s apart were cut by a 5 s idle timeout.");
            Assert.That(bytes, Is.EqualTo(10));
        }
    }

    [Test]
    public async Task SilenceLongerThanTheIdleTimeout_Canceled()
    {
        var idle = TimeSpan.FromSeconds(5);
        var clock = new ObservedClock();
        var source = new Pipe();
        var destination = new Pipe(Unbounded);
        using var timeouts = NewTimeouts(clock);
        timeouts.ArmIdle(TimeoutReason.ResponseBody, idle);
        using var guard = EventTimeout.NewSource();

        var relay = BodyRelay.CopyAsync(source.Reader, destination.Writer, ElevenBytes, ChunkedRelayMode.Untouched, long.MaxValue, timeouts, timeouts.Token, guard.Token);
        clock.Advance(TimeSpan.FromSeconds(1));
        await source.Writer.WriteAsync(Latin1.Bytes("hello"));
        Assert.That(await ReadAsync(destination.Reader, 5), Is.EqualTo("hello"));
        await clock.WaitForArmedAsync(idle);
        clock.Advance(idle);
        var (result, bytes, _) = await relay.AsTask().OrTimeoutAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result, Is.EqualTo(RelayResult.Canceled));
            Assert.That(bytes, Is.EqualTo(5));
            Assert.That(timeouts.Outcome, Is.EqualTo(TimeoutOutcomes.For(TimeoutReason.ResponseBody, CancelCause.Timeout)));
        }
    }

    private static readonly PipeOptions Unbounded = new(pauseWriterThreshold: 0);

    private static TimeoutControl NewTimeouts(TimeProvider clock) => new(clock, CancellationToken.None, CancellationToken.None);

    /// <summary>
    /// Runs one relay over <paramref name="input"/>, fed in the pieces of <paramref name="shape"/> while it runs (or
    /// all of it before it starts), then the source completed unless told otherwise.
    /// </summary>
    private static async Task<Relayed> RelayAsync(
        string input, BodyFraming framing, BufferShape shape, ChunkedRelayMode mode = ChunkedRelayMode.Untouched, long maxBytes = long.MaxValue,
        bool completeSource = true, bool writeAllFirst = false)
    {
        var source = new Pipe(Unbounded);
        var destination = new Pipe(Unbounded);
        var observer = new RecordingObserver();
        using var timeouts = NewTimeouts(TimeProvider.System);
        using var guard = EventTimeout.NewSource();
        if (writeAllFirst)
        {
            await source.Writer.WriteAsync(Latin1.Bytes(input));
        }

        var relay = BodyRelay.CopyAsync(source.Reader, destination.Writer, framing, mode, maxBytes, timeouts, guard.Token, guard.Token, observer).AsTask();
        if (!writeAllFirst)
        {
            foreach (var piece in shape.Build(input))
            {
                await source.Writer.WriteAsync(piece);
            }
        }

        if (completeSource)
        {
            await source.Writer.CompleteAsync();
        }

        var (result, bytes, extra) = await relay.OrTimeoutAsync();
        await destination.Writer.CompleteAsync();
        var written = await ReadToEndAsync(destination.Reader);
        var left = source.Reader.TryRead(out var rest) ? Latin1.Text(rest.Buffer.ToArray()) : "";
        return new Relayed(result, bytes, extra, written, Latin1.Text(observer.Bytes.ToArray()), left);
    }

    private static async Task<string> ReadToEndAsync(PipeReader reader)
    {
        while (true)
        {
            var read = await reader.ReadAsync().AsTask().OrTimeoutAsync();
            if (read.IsCompleted)
            {
                var text = Latin1.Text(read.Buffer.ToArray());
                reader.AdvanceTo(read.Buffer.End);
                return text;
            }

            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes the relay flushed.</summary>
    private static async Task<string> ReadAsync(PipeReader reader, int count)
    {
        while (true)
        {
            var read = await reader.ReadAsync().AsTask().OrTimeoutAsync();
            if (read.Buffer.Length >= count || read.IsCompleted)
            {
                var bytes = read.Buffer.Slice(0, Math.Min(count, read.Buffer.Length));
                var text = Latin1.Text(bytes.ToArray());
                reader.AdvanceTo(bytes.End);
                return text;
            }

            reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    /// <summary>The length of what the reader holds now, leaving it unconsumed.</summary>
    private static long Examine(PipeReader reader, ReadResult read)
    {
        var length = read.Buffer.Length;
        reader.AdvanceTo(read.Buffer.Start);
        return length;
    }

    private sealed record Relayed(RelayResult Result, long Bytes, bool ExtraSourceBytes, string Written, string Observed, string LeftInSource);

    private sealed class RecordingObserver : IBodyObserver
    {
        public List<byte> Bytes { get; } = [];

        public void OnBytes(in ReadOnlySequence<byte> bytes) => Bytes.AddRange(bytes.ToArray());
    }
}
