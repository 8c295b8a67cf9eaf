using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Fuzz;

/// <summary>
/// The request head as the connection loop handles it: <see cref="RequestHeadParser.TryParse"/>, then the target
/// mapping and body framing, then the rewrite that goes upstream. Allowed outcomes: parsed, need more, or a
/// <see cref="RequestRejectionException"/>. Any other exception, or a broken invariant, is a finding.
/// </summary>
internal static class RequestHeadTarget
{
    private const string UpstreamAuthority = "upstream.test:8443";
    private const string ApiKey = "fuzz-upstream-key";

    private static readonly RequestLimits Small = new() { MaxRequestLineSize = 64, MaxHeadSize = 256, MaxHeaderCount = 8 };

    // The lowest values PROXY_MAX_REQUEST_* accept (Settings.All): every limit is within reach of short inputs.
    private static readonly RequestLimits Minimal = new() { MaxRequestLineSize = 64, MaxHeadSize = 256, MaxHeaderCount = 1 };

    // The rewritten head is parsed again; it may be a little longer than the original.
    private static readonly RequestLimits Generous = new() { MaxRequestLineSize = 1 << 20, MaxHeadSize = 1 << 20, MaxHeaderCount = 10_000 };

    private static readonly RequestRewriter Rewriter = new(UpstreamAuthority);
    private static readonly byte[] Authorization = RequestRewriter.AuthorizationLine(ApiKey);
    private static readonly RequestHead Reused = new();

    private enum Outcome : byte
    {
        NeedMore,
        Rejected,
        Parsed,
        RejectedAfterParse,
    }

    private readonly record struct Result(Outcome Outcome, long Consumed, RequestRejection? Reason, ulong Fingerprint);

    public static object Run(ReadOnlySpan<byte> data)
    {
        var input = new FuzzInput(data);
        var payload = input.Payload;
        var limits = (input.Options & 3) switch
        {
            1 => Small,
            2 => Minimal,
            _ => RequestLimits.Default,
        };

        // One segment, with a head instance reused message after message as the connection loop does.
        var expected = Parse(Segments.One(payload), limits, Reused);

        // The same bytes in other shapes, and again, give the same result (docs/ARCHITECTURE.md#tests).
        Same(expected, Parse(Segments.Split(payload, input.Split), limits, new RequestHead()), "split in two");
        Same(expected, Parse(Segments.Scattered(payload), limits, new RequestHead()), "scattered");
        Same(expected, Parse(Segments.One(payload), limits, Reused), "parsed twice");

        if (expected.Outcome is Outcome.Parsed or Outcome.RejectedAfterParse)
        {
            // The head does not depend on what follows it, and every proper prefix of it is incomplete.
            var end = (int)expected.Consumed;
            Same(expected, Parse(Segments.One(payload[..end]), limits, new RequestHead()), "head alone");
            Incomplete(Parse(Segments.Split(payload[..(end - 1)], input.Split % end), limits, new RequestHead()), "head less its last byte");
            Incomplete(Parse(Segments.One(payload[..(input.Split % end)]), limits, new RequestHead()), "a prefix of the head");
        }

        return expected;
    }

    private static void Same(Result expected, Result actual, string shape) =>
        InvariantViolation.Check(expected == actual, $"{shape}: {actual} differs from one segment: {expected}");

    private static void Incomplete(Result result, string what) =>
        InvariantViolation.Check(result.Outcome == Outcome.NeedMore, $"{what}: {result}, expected need-more");

    private static Result Parse(ReadOnlySequence<byte> buffer, RequestLimits limits, RequestHead head)
    {
        var reader = new SequenceReader<byte>(buffer);
        bool parsed;
        try
        {
            parsed = RequestHeadParser.TryParse(ref reader, limits, head);
        }
        catch (RequestRejectionException e)
        {
            InvariantViolation.Check(reader.Consumed == 0, "a rejected head moved the reader");
            return new Result(Outcome.Rejected, 0, e.Reason, 0);
        }

        if (!parsed)
        {
            InvariantViolation.Check(reader.Consumed == 0, "an incomplete head moved the reader");
            return new Result(Outcome.NeedMore, 0, null, 0);
        }

        var consumed = reader.Consumed;
        InvariantViolation.Check(consumed > 0 && consumed <= buffer.Length, $"consumed {consumed} of {buffer.Length} bytes");
        var fingerprint = CheckHead(buffer.Slice(0, consumed).ToArray(), head, limits);
        try
        {
            fingerprint.Add(CheckForwarded(head));
        }
        catch (RequestRejectionException e)
        {
            return new Result(Outcome.RejectedAfterParse, consumed, e.Reason, fingerprint.Value);
        }

        return new Result(Outcome.Parsed, consumed, null, fingerprint.Value);
    }

    /// <summary>The parsed head is the bytes consumed, within the limits, and each part of it is well formed.</summary>
    private static Fingerprint CheckHead(byte[] consumed, RequestHead head, RequestLimits limits)
    {
        var bytes = head.Bytes;
        var skipped = consumed.Length - bytes.Length;
        InvariantViolation.Check(skipped >= 0 && consumed.AsSpan(skipped).SequenceEqual(bytes), "the head is not the bytes consumed");
        for (var i = 0; i < skipped; i += 2)
        {
            InvariantViolation.Check(consumed.AsSpan(i).StartsWith("\r\n"u8), "bytes before the request line other than empty lines");
        }

        InvariantViolation.Check(bytes.Length <= limits.MaxHeadSize, $"head of {bytes.Length} bytes parsed, limit {limits.MaxHeadSize}");
        InvariantViolation.Check(head.Fields.Length <= limits.MaxHeaderCount, $"{head.Fields.Length} fields parsed, limit {limits.MaxHeaderCount}");
        InvariantViolation.Check(bytes.EndsWith("\r\n\r\n"u8), "the head does not end with an empty line");
        var lineLength = bytes.IndexOf("\r\n"u8);
        InvariantViolation.Check(lineLength <= limits.MaxRequestLineSize, $"request line of {lineLength} bytes parsed, limit {limits.MaxRequestLineSize}");
        for (var i = 0; i < bytes.Length; i++)
        {
            // RFC 9112 §2.2: CR only before LF, LF only after CR; no NUL anywhere (§5).
            InvariantViolation.Check(bytes[i] != 0, "NUL in a parsed head");
            InvariantViolation.Check(bytes[i] != '\r' || (i + 1 < bytes.Length && bytes[i + 1] == '\n'), "bare CR in a parsed head");
            InvariantViolation.Check(bytes[i] != '\n' || (i > 0 && bytes[i - 1] == '\r'), "bare LF in a parsed head");
        }

        InvariantViolation.Check(!head.MethodBytes.IsEmpty && !head.Target.IsEmpty, "empty method or target");
        InvariantViolation.Check(head.Target.IndexOfAnyInRange((byte)0, (byte)' ') < 0 && head.Target.IndexOfAnyInRange((byte)0x7F, (byte)0xFF) < 0, "control, space or obs-text in the target");
        InvariantViolation.Check(head.HostCount == 1 || (head.HostCount == 0 && head.Version == Http1Version.Http10), $"{head.HostCount} Host fields accepted");

        var fingerprint = new Fingerprint();
        fingerprint.Add(bytes);
        fingerprint.Add(skipped);
        fingerprint.Add((long)head.Version);
        fingerprint.Add((long)head.Method);
        foreach (var field in head.Fields)
        {
            var name = field.Name(bytes);
            var value = field.Value(bytes);
            InvariantViolation.Check(!name.IsEmpty && name.IndexOfAny(":\r\n \t\0"u8) < 0, "malformed field name accepted");
            InvariantViolation.Check(value.IndexOfAny("\r\n\0"u8) < 0, "CR, LF or NUL in a field value");
            InvariantViolation.Check(value.IsEmpty || (value[0] is not ((byte)' ' or (byte)'\t') && value[^1] is not ((byte)' ' or (byte)'\t')), "field value not trimmed");
            fingerprint.Add(field.NameStart);
            fingerprint.Add(field.ValueStart);
            fingerprint.Add(field.ValueLength);
            fingerprint.Add((long)field.Known);
        }

        return fingerprint;
    }

    /// <summary>
    /// Steps 2 and 3 of the connection loop: map the target, decide the framing, write the head that goes
    /// upstream. That head must parse again, carry only the proxy's Host and key, no hop-by-hop field, and the
    /// same framing and method: whatever the client sent, the upstream cannot read a different request.
    /// </summary>
    private static long CheckForwarded(RequestHead head)
    {
        RequestMethods.ThrowIfNotServed(head.Method);
        var target = RequestTarget.Map(head.Target);
        InvariantViolation.Check(target.RestStart >= 0 && target.RestStart <= head.Target.Length, "target rest outside the target");
        var local = LocalAnswers.For(head.Method, target.Kind);
        var framing = BodyFraming.ForRequest(head);
        if (local != LocalAnswer.None)
        {
            // Answered locally by the proxy: nothing goes upstream.
            return (long)target.Kind;
        }

        var output = new ArrayBufferWriter<byte>();
        Rewriter.WriteHead(output, head, target, framing, Authorization, default);
        var forwarded = new RequestHead();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(output.WrittenMemory));
        bool parsed;
        try
        {
            parsed = RequestHeadParser.TryParse(ref reader, Generous, forwarded);
        }
        catch (RequestRejectionException e)
        {
            throw new InvariantViolation($"the forwarded head is rejected: {e.Reason}");
        }

        InvariantViolation.Check(parsed && reader.End, "the forwarded head is incomplete or followed by bytes");
        InvariantViolation.Check(forwarded.MethodBytes.SequenceEqual(head.MethodBytes) && forwarded.Version == Http1Version.Http11, "method or version changed");
        InvariantViolation.Check(forwarded.HostCount == 1 && forwarded.AuthorizationCount == 1 && forwarded.ApiKeyCount == 0, "Host, Authorization or x-api-key not exactly the proxy's");
        InvariantViolation.Check(forwarded.Authorization.SequenceEqual("Bearer fuzz-upstream-key"u8), "Authorization is not the upstream key");
        InvariantViolation.Check(BodyFraming.ForRequest(forwarded) == framing, $"framing changed: {BodyFraming.ForRequest(forwarded)} upstream, {framing} from the client");

        var bytes = forwarded.Bytes;
        foreach (var field in forwarded.Fields)
        {
            var name = field.Name(bytes);
            InvariantViolation.Check(
                field.Known is not (KnownField.Connection or KnownField.KeepAlive or KnownField.ProxyConnection or KnownField.TE
                    or KnownField.Trailer or KnownField.Upgrade or KnownField.ProxyAuthorization or KnownField.Expect),
                $"hop-by-hop field {field.Known} forwarded");
            InvariantViolation.Check(field.Known != KnownField.Host || field.Value(bytes).SequenceEqual("upstream.test:8443"u8), "client's Host forwarded");
            InvariantViolation.Check(field.Known is not (KnownField.Other or KnownField.ContentType or KnownField.Date) || !head.IsNamedByConnection(name), "a field named by Connection forwarded");
        }

        // Routing is idempotent: the forwarded target maps to itself, so the upstream sees the route that was chosen.
        var again = RequestTarget.Map(forwarded.Target);
        InvariantViolation.Check(again.Kind == TargetKind.Forward, $"forwarded target maps to {again.Kind}");
        var remapped = new ArrayBufferWriter<byte>();
        remapped.Write(MappedTarget.PrefixBytes(again.Prefix));
        remapped.Write(forwarded.Target[again.RestStart..]);
        InvariantViolation.Check(remapped.WrittenSpan.SequenceEqual(forwarded.Target), "forwarded target is not a fixed point of the mapping");

        var fingerprint = new Fingerprint();
        fingerprint.Add(output.WrittenSpan);
        return (long)fingerprint.Value;
    }
}
