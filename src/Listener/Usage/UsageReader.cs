using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// Reads the token counts of an answer from its body bytes as they pass to the client, read after read: it undoes
/// the chunked framing itself (RFC 9112 §7.1), cuts the payload into JSON values (the whole body, NDJSON lines, or
/// the <c>data:</c> lines of an event stream) and walks each value with a <see cref="UsageJsonScanner"/>. It keeps no
/// line and no answer, only fixed state (and, when a chunk-size line straddles two reads, that partial line, at most
/// <see cref="ChunkedParser.MaxSizeLineLength"/> bytes), so the longest line costs no more memory than the shortest.
/// A line or event that cannot hold a count (no <c>"usage"</c>, no <c>"done":true</c>, no <c>_count"</c> in it) is
/// passed over with a vectorized search when it arrives whole in one read. Malformed or cut-short input makes the
/// counts unknown and never throws. One per connection, <see cref="Reset"/> for each response; allocates nothing
/// once its carry buffer exists.
/// </summary>
public sealed class UsageReader
{
    private UsageDialect _dialect;
    private Framing _framing;
    private bool _chunked;
    private ChunkedParser _chunks;
    private byte[]? _carry;
    private int _carryLength;
    private bool _bodyEnded;
    private bool _failed;
    private Line _line;
    private int _prefixMatched;
    private bool _skipLineFeed;
    private UsageJsonScanner _scanner;
    private long _prompt = -1;
    private long _completion = -1;

    private enum Framing : byte
    {
        None,

        /// <summary>The body is one JSON value.</summary>
        Json,

        /// <summary>One JSON value per LF-terminated line (https://github.com/ndjson/ndjson-spec).</summary>
        JsonLines,

        /// <summary>
        /// An event stream (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
        /// lines end in CR, LF or CRLF; each <c>data:</c> line holds one JSON value (as OpenAI, Anthropic and Ollama
        /// send them); other fields, comments and <c>data: [DONE]</c> hold no count.
        /// </summary>
        EventStream,
    }

    /// <summary>Where the reader stands in the current line.</summary>
    private enum Line : byte
    {
        /// <summary>At the start of a line.</summary>
        Start,

        /// <summary>Matching <c>data:</c> at the start of an event-stream line.</summary>
        Prefix,

        /// <summary>Just after <c>data:</c>, where one space may come before the value.</summary>
        DataStart,

        /// <summary>Feeding the line's value to the scanner.</summary>
        Value,

        /// <summary>A line that holds no value: skipped to its end.</summary>
        Ignored,
    }

    /// <summary>Starts reading a new response body in <paramref name="format"/>, chunked as sent or not.</summary>
    public void Reset(UsageFormat format, bool chunked)
    {
        (_dialect, _framing) = format switch
        {
            UsageFormat.OllamaJson => (UsageDialect.Ollama, Framing.Json),
            UsageFormat.OllamaJsonLines => (UsageDialect.Ollama, Framing.JsonLines),
            UsageFormat.OpenAiJson => (UsageDialect.OpenAi, Framing.Json),
            UsageFormat.OpenAiEventStream => (UsageDialect.OpenAi, Framing.EventStream),
            UsageFormat.AnthropicJson => (UsageDialect.Anthropic, Framing.Json),
            UsageFormat.AnthropicEventStream => (UsageDialect.Anthropic, Framing.EventStream),
            _ => (UsageDialect.Ollama, Framing.None),
        };
        _chunked = chunked;
        _chunks = default;
        _carryLength = 0;
        _bodyEnded = false;
        _failed = false;
        _line = Line.Start;
        _prefixMatched = 0;
        _skipLineFeed = false;
        _prompt = -1;
        _completion = -1;
        _scanner.Configure(_dialect);
    }

    /// <summary>The next bytes of the body, exactly as they go to the client (chunk framing included when chunked).</summary>
    public void Observe(in ReadOnlySequence<byte> bytes)
    {
        if (_framing == Framing.None)
        {
            return;
        }

        foreach (var memory in bytes)
        {
            if (_failed || _bodyEnded)
            {
                return;
            }

            if (_chunked)
            {
                Dechunk(memory);
            }
            else
            {
                Payload(memory.Span);
            }
        }
    }

    /// <summary>
    /// The counts read so far, each null when not known: a route that reports none, a stream without usage, an answer
    /// cut short, malformed or of another shape. The body's end ends its last line: a value that is whole there counts.
    /// </summary>
    public bool TryGetCounts(out long? prompt, out long? completion)
    {
        var p = _prompt;
        var c = _completion;
        if (_failed)
        {
            p = c = -1;
        }
        else if (_framing == Framing.Json || _line == Line.Value)
        {
            _scanner.ApplyTo(ref p, ref c);
        }

        prompt = p < 0 ? null : p;
        completion = c < 0 ? null : c;
        return prompt.HasValue || completion.HasValue;
    }

    /// <summary>Walks the chunk framing of one piece and passes on the data in it.</summary>
    private void Dechunk(ReadOnlyMemory<byte> memory)
    {
        if (_carryLength > 0)
        {
            // Complete the framing line that the last piece cut, then walk it alone: it holds no data.
            var span = memory.Span;
            var lineFeed = span.IndexOf((byte)'\n');
            var take = lineFeed < 0 ? span.Length : lineFeed + 1;
            if (take > _carry!.Length - _carryLength)
            {
                _failed = true;
                return;
            }

            span[..take].CopyTo(_carry.AsSpan(_carryLength));
            _carryLength += take;
            if (lineFeed < 0)
            {
                return;
            }

            var line = new ReadOnlyMemory<byte>(_carry, 0, _carryLength);
            _carryLength = 0;
            Walk(line);
            if (_failed || _bodyEnded)
            {
                return;
            }

            memory = memory[take..];
        }

        Walk(memory);
    }

    private void Walk(ReadOnlyMemory<byte> memory)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(memory));
        while (!_failed)
        {
            var start = (int)reader.Consumed;
            switch (_chunks.TryRead(ref reader, out var run, out var length))
            {
                case ChunkedStatus.Run when run == ChunkRun.Data:
                    Payload(memory.Span.Slice(start, (int)length));
                    break;
                case ChunkedStatus.Run when run == ChunkRun.LastChunk:
                    _bodyEnded = true; // trailer fields hold no counts
                    return;
                case ChunkedStatus.Run:
                    break;
                case ChunkedStatus.NeedMore:
                    Carry(memory.Span[(int)reader.Consumed..]);
                    return;
                default:
                    _failed = true; // the relay fails this response too
                    return;
            }
        }
    }

    /// <summary>Keeps the start of a framing line that the piece cut (the parser reads a line only whole).</summary>
    private void Carry(ReadOnlySpan<byte> partial)
    {
        if (partial.IsEmpty)
        {
            return;
        }

        _carry ??= new byte[ChunkedParser.MaxSizeLineLength];
        if (partial.Length > _carry.Length)
        {
            _failed = true;
            return;
        }

        partial.CopyTo(_carry);
        _carryLength = partial.Length;
    }

    private void Payload(ReadOnlySpan<byte> data)
    {
        switch (_framing)
        {
            case Framing.Json:
                _scanner.Scan(data);
                break;
            case Framing.JsonLines:
                Lines(data);
                break;
            default:
                Events(data);
                break;
        }
    }

    private void Lines(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var end = data.IndexOf((byte)'\n');
            if (_line == Line.Start && end >= 0)
            {
                // A whole line in one piece: only one that may hold a count is walked.
                var line = data[..end];
                if (MayHoldCounts(line))
                {
                    ScanWhole(line);
                }
            }
            else
            {
                if (_line == Line.Start)
                {
                    _scanner.Begin();
                    _line = Line.Value;
                }

                if (end < 0)
                {
                    _scanner.Scan(data);
                    return;
                }

                _scanner.Scan(data[..end]);
                EndLine();
            }

            data = data[(end + 1)..];
        }
    }

    private void Events(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_skipLineFeed)
            {
                _skipLineFeed = false;
                if (data[0] == '\n')
                {
                    data = data[1..];
                    continue;
                }
            }

            var end = data.IndexOfAny((byte)'\r', (byte)'\n');
            if (_line == Line.Start && end >= 0)
            {
                var line = data[..end];
                if (line.StartsWith("data:"u8))
                {
                    var value = line[5..];
                    value = value.StartsWith((byte)' ') ? value[1..] : value;
                    if (MayHoldCounts(value))
                    {
                        ScanWhole(value);
                    }
                }
            }
            else
            {
                EventLinePart(end < 0 ? data : data[..end]);
                if (end < 0)
                {
                    return;
                }

                EndLine();
            }

            _skipLineFeed = data[end] == '\r';
            data = data[(end + 1)..];
        }
    }

    /// <summary>Reads part of an event-stream line that did not arrive whole.</summary>
    private void EventLinePart(ReadOnlySpan<byte> part)
    {
        var i = 0;
        while (i < part.Length)
        {
            switch (_line)
            {
                case Line.Start or Line.Prefix:
                    if (part[i++] != "data:"u8[_prefixMatched])
                    {
                        _line = Line.Ignored;
                        return;
                    }

                    _line = ++_prefixMatched == 5 ? Line.DataStart : Line.Prefix;
                    if (_line == Line.DataStart)
                    {
                        _scanner.Begin();
                    }

                    break;
                case Line.DataStart:
                    i += part[i] == ' ' ? 1 : 0;
                    _line = Line.Value;
                    break;
                case Line.Value:
                    _scanner.Scan(part[i..]);
                    return;
                default:
                    return;
            }
        }
    }

    private void ScanWhole(ReadOnlySpan<byte> value)
    {
        _scanner.Begin();
        _scanner.Scan(value);
        _scanner.ApplyTo(ref _prompt, ref _completion);
    }

    private void EndLine()
    {
        if (_line is Line.Value or Line.DataStart)
        {
            _scanner.ApplyTo(ref _prompt, ref _completion);
        }

        _line = Line.Start;
        _prefixMatched = 0;
    }

    /// <summary>
    /// Whether a whole line may hold a count the scanner would take: it skips no line that does, since the scanner
    /// matches names as sent. Ollama's final object has <c>"done":true</c> (or a count, whose name ends in
    /// <c>_count</c>); every other answer's count is in a <c>"usage"</c> object.
    /// </summary>
    private bool MayHoldCounts(ReadOnlySpan<byte> line)
    {
        if (_dialect != UsageDialect.Ollama)
        {
            return line.IndexOf("\"usage\""u8) >= 0;
        }

        if (line.IndexOf("_count\""u8) >= 0)
        {
            return true;
        }

        while (true)
        {
            var at = line.IndexOf("\"done\""u8);
            if (at < 0)
            {
                return false;
            }

            line = line[(at + 6)..];
            var value = line.TrimStart(" \t\r"u8);
            if (value.StartsWith((byte)':') && value[1..].TrimStart(" \t\r"u8).StartsWith("true"u8))
            {
                return true;
            }
        }
    }
}
