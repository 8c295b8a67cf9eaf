namespace OllamaSocketProxy.Fuzz;

/// <summary>
/// A fuzzer input: three control bytes, then the payload the parser sees. The control bytes let the fuzzer
/// choose the segment boundary and the limits too, so they are mutated and minimized like the payload.
/// <code>
/// byte 0-1  split point, little-endian, modulo (payload length + 1)
/// byte 2    options: bits 0-1 select the limits (see RequestHeadTarget), the other bits are per target
/// </code>
/// </summary>
internal readonly ref struct FuzzInput
{
    public const int ControlLength = 3;

    public FuzzInput(ReadOnlySpan<byte> data)
    {
        Span<byte> control = stackalloc byte[ControlLength];
        data[..Math.Min(ControlLength, data.Length)].CopyTo(control);
        Payload = data.Length > ControlLength ? data[ControlLength..] : default;
        Split = (control[0] | (control[1] << 8)) % (Payload.Length + 1);
        Options = control[2];
    }

    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>Where the payload is cut into two segments (and, for the chunked target, into two reads).</summary>
    public int Split { get; }

    public byte Options { get; }
}
