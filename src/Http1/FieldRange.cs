namespace OllamaSocketProxy.Http1;

/// <summary>Where a field's name and value stand in the head's bytes.</summary>
public readonly record struct FieldRange(int NameStart, int NameLength, int ValueStart, int ValueLength, KnownField Known)
{
    public ReadOnlySpan<byte> Name(ReadOnlySpan<byte> head) => head.Slice(NameStart, NameLength);
    public ReadOnlySpan<byte> Value(ReadOnlySpan<byte> head) => head.Slice(ValueStart, ValueLength);

    /// <summary>The whole field line, name through value, as received (without CRLF).</summary>
    public ReadOnlySpan<byte> Line(ReadOnlySpan<byte> head) => head[NameStart..(ValueStart + ValueLength)];
}
