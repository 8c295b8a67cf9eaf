namespace OllamaSocketProxy.Http1;

/// <summary>
/// <c>field-line = field-name ":" OWS field-value OWS</c> (RFC 9112 §5), shared by requests, responses and trailers.
/// </summary>
internal static class FieldLineParser
{
    /// <summary>
    /// Parses one field line (without its CRLF) that starts at <paramref name="offset"/> of the head. Returns
    /// false for obs-fold, whitespace before the colon, a name that is not a token, or a control byte in the value.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> line, int offset, out FieldRange field)
    {
        field = default;

        // RFC 9112 §5.2: obs-fold (a line starting with whitespace) is rejected, never unfolded.
        var colon = line.IndexOf((byte)':');

        // RFC 9112 §5.1: no whitespace between name and colon; a server MUST reject such a message with 400.
        if (colon <= 0 || !HttpSyntax.IsToken(line[..colon]))
        {
            return false;
        }

        var rawValue = line[(colon + 1)..];
        if (!HttpSyntax.IsFieldValue(rawValue))
        {
            return false;
        }

        var leading = rawValue.Length - rawValue.TrimStart(" \t"u8).Length;
        var value = HttpSyntax.TrimWhitespace(rawValue);
        field = new FieldRange(offset, colon, offset + colon + 1 + leading, value.Length, KnownFields.Lookup(line[..colon]));
        return true;
    }
}
