namespace OllamaSocketProxy.Http1;

/// <summary>What a message's Transfer-Encoding fields amount to (RFC 9112 §6.1, §6.3).</summary>
public enum TransferCoding : byte
{
    /// <summary>No Transfer-Encoding field.</summary>
    None,

    /// <summary>Exactly one coding, <c>chunked</c>.</summary>
    Chunked,

    /// <summary><c>chunked</c> last, after other codings (<c>gzip, chunked</c>): framed, but not relayed by the proxy.</summary>
    ChunkedAfterOtherCodings,

    /// <summary>The final coding is not <c>chunked</c>, <c>chunked</c> appears twice, or a coding is malformed.</summary>
    Invalid,
}

/// <summary>Accumulates the codings of one or more Transfer-Encoding fields, in order.</summary>
internal struct TransferCodingList
{
    private int _codings;
    private int _chunked;
    private bool _lastIsChunked;
    private bool _malformed;

    public readonly bool IsPresent => _codings > 0 || _malformed;

    public void Add(ReadOnlySpan<byte> fieldValue)
    {
        var list = fieldValue;
        var any = false;
        while (HttpSyntax.TryNextListElement(ref list, out var coding))
        {
            any = true;
            _codings++;
            _lastIsChunked = System.Text.Ascii.EqualsIgnoreCase(coding, "chunked"u8);
            if (_lastIsChunked)
            {
                _chunked++;
            }
            else
            {
                // transfer-coding = token *( OWS ";" OWS transfer-parameter ); the name must be a whole token.
                var parameters = coding.IndexOf((byte)';');
                var name = parameters < 0 ? coding : HttpSyntax.TrimWhitespace(coding[..parameters]);
                _malformed |= !HttpSyntax.IsToken(name);
            }
        }

        // A Transfer-Encoding field with no coding at all is not a valid list (RFC 9112 §6.1: 1#transfer-coding).
        _malformed |= !any;
    }

    public readonly TransferCoding Result => (_codings, _chunked, _lastIsChunked, _malformed) switch
    {
        (0, _, _, false) => TransferCoding.None,
        (_, _, _, true) => TransferCoding.Invalid,
        (1, 1, true, _) => TransferCoding.Chunked,
        (_, 1, true, _) => TransferCoding.ChunkedAfterOtherCodings,
        _ => TransferCoding.Invalid,
    };
}
