using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Fuzz;

/// <summary>
/// The upstream's response head: <see cref="ResponseHeadParser.TryParse"/>, the response framing and the head the
/// client gets. Allowed outcomes: parsed, need more, or an <see cref="InvalidResponseException"/> (the 502).
/// Options byte: bit 0 answers a HEAD request, bit 1 de-chunks (HTTP/1.0 client), bit 2 closes after the response.
/// </summary>
internal static class ResponseHeadTarget
{
    private static readonly ResponseHead Reused = new();

    private enum Outcome : byte
    {
        NeedMore,
        Invalid,
        Parsed,
        InvalidFraming,
    }

    private readonly record struct Result(Outcome Outcome, long Consumed, ulong Fingerprint);

    public static object Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        var payload = input.Payload;
        var expected = Parse(Segments.One(payload), input.Options, Reused);
        Same(expected, Parse(Segments.Split(payload, input.Split), input.Options, new ResponseHead()), "split in two");
        Same(expected, Parse(Segments.Scattered(payload), input.Options, new ResponseHead()), "scattered");
        Same(expected, Parse(Segments.One(payload), input.Options, Reused), "parsed twice");
        if (expected.Outcome is Outcome.Parsed or Outcome.InvalidFraming)
        {
            var end = (int)expected.Consumed;
            Same(expected, Parse(Segments.One(payload[..end]), input.Options, new ResponseHead()), "head alone");
            var prefix = Parse(Segments.One(payload[..(input.Split % end)]), input.Options, new ResponseHead());
            InvariantViolation.Check(prefix.Outcome == Outcome.NeedMore, $"a prefix of the head: {prefix}, expected need-more");
        }

        return expected;
    }

    private static void Same(Result expected, Result actual, string shape) =>
        InvariantViolation.Check(expected == actual, $"{shape}: {actual} differs from one segment: {expected}");

    private static Result Parse(ReadOnlySequence<byte> buffer, byte options, ResponseHead head)
    {
        var reader = new SequenceReader<byte>(buffer);
        bool parsed;
        try
        {
            parsed = ResponseHeadParser.TryParse(ref reader, head);
        }
        catch (InvalidResponseException)
        {
            InvariantViolation.Check(reader.Consumed == 0, "an invalid head moved the reader");
            return new Result(Outcome.Invalid, 0, 0);
        }

        if (!parsed)
        {
            InvariantViolation.Check(reader.Consumed == 0, "an incomplete head moved the reader");
            return new Result(Outcome.NeedMore, 0, 0);
        }

        var consumed = reader.Consumed;
        var bytes = head.Bytes;
        InvariantViolation.Check(consumed > 0 && consumed <= buffer.Length && consumed == bytes.Length, $"consumed {consumed} of {buffer.Length}, head of {bytes.Length}");
        InvariantViolation.Check(buffer.Slice(0, consumed).ToArray().AsSpan().SequenceEqual(bytes), "the head is not the bytes consumed");
        InvariantViolation.Check(bytes.Length <= 64 * 1024 && head.Fields.Length <= 256, "response head over its limits");
        InvariantViolation.Check(head.StatusCode is >= 100 and <= 999 && head.StatusLine.IndexOfAny("\r\n\0"u8) < 0, $"status {head.StatusCode} or a control byte in the status line");

        var fingerprint = new Fingerprint();
        fingerprint.Add(bytes);
        fingerprint.Add(head.StatusCode);
        fingerprint.Add((long)head.Version);
        foreach (var field in head.Fields)
        {
            InvariantViolation.Check(field.Value(bytes).IndexOfAny("\r\n\0"u8) < 0, "CR, LF or NUL in a field value");
            fingerprint.Add(field.NameStart);
            fingerprint.Add(field.ValueLength);
            fingerprint.Add((long)field.Known);
        }

        BodyFraming framing;
        try
        {
            framing = BodyFraming.ForResponse((options & 1) != 0 ? RequestMethod.Head : RequestMethod.Get, head);
        }
        catch (InvalidResponseException)
        {
            return new Result(Outcome.InvalidFraming, consumed, fingerprint.Value);
        }

        fingerprint.Add((long)framing.Kind);
        fingerprint.Add(framing.Length);
        fingerprint.Add(CheckRelayed(head, framing, options));
        return new Result(Outcome.Parsed, consumed, fingerprint.Value);
    }

    private static ReadOnlySpan<byte> ProxyDate => "Date: Sat, 01 Jan 2000 00:00:00 GMT\r\n"u8;

    /// <summary>The head written to the client parses again, with the same status and, unless de-chunked, the same framing.</summary>
    private static long CheckRelayed(ResponseHead head, BodyFraming framing, byte options)
    {
        var dechunk = (options & 2) != 0 && framing.Kind == BodyKind.Chunked;
        var close = (options & 4) != 0;
        var output = new ArrayBufferWriter<byte>();
        ResponseHeadWriter.Write(output, head, dechunk, close, ProxyDate);

        var relayed = new ResponseHead();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(output.WrittenMemory));
        bool parsed;
        try
        {
            parsed = ResponseHeadParser.TryParse(ref reader, relayed);
        }
        catch (InvalidResponseException e)
        {
            throw new InvariantViolation($"the relayed head is invalid: {e.Message}");
        }

        InvariantViolation.Check(parsed && reader.End, "the relayed head is incomplete or followed by bytes");
        InvariantViolation.Check(relayed.StatusCode == head.StatusCode && relayed.StatusLine.SequenceEqual(head.StatusLine), "status line changed");
        InvariantViolation.Check(!close || head.IsInterim || relayed.WantsClose, "close requested but the relayed head keeps the connection");

        // RFC 9110 §6.6.1: a final response reaches the client with a Date; an interim one gets none added.
        InvariantViolation.Check(head.IsInterim ? !relayed.HasDate || head.HasDate : relayed.HasDate, "Date missing or added to an interim response");
        var method = (options & 1) != 0 ? RequestMethod.Head : RequestMethod.Get;
        BodyFraming again;
        try
        {
            again = BodyFraming.ForResponse(method, relayed);
        }
        catch (InvalidResponseException e)
        {
            throw new InvariantViolation($"the relayed head has invalid framing: {e.Message}");
        }

        InvariantViolation.Check(dechunk ? again.Kind == BodyKind.UntilClose : again == framing, $"framing changed: {again} to the client, {framing} from the upstream");
        var fingerprint = new Fingerprint();
        fingerprint.Add(output.WrittenSpan);
        return (long)fingerprint.Value;
    }
}
