namespace OllamaSocketProxy.Http1;

/// <summary>
/// Accumulates Content-Length values across fields. Identical repeats (<c>5, 5</c>) are one length; differing
/// or malformed values make the message invalid (RFC 9110 §8.6, RFC 9112 §6.3 point 5).
/// </summary>
internal struct ContentLengthList
{
    private long _length;
    private bool _present;
    private bool _invalid;

    public readonly bool IsPresent => _present;
    public readonly bool IsInvalid => _invalid;
    public readonly long Length => _length;

    public void Add(ReadOnlySpan<byte> fieldValue)
    {
        var list = fieldValue;
        var any = false;
        while (HttpSyntax.TryNextListElement(ref list, out var element))
        {
            any = true;
            if (!HttpSyntax.TryParseDecimal(element, out var length) || (_present && length != _length))
            {
                _invalid = true;
            }

            _length = length;
            _present = true;
        }

        _invalid |= !any;
        _present = true;
    }
}
