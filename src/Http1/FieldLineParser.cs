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

        // The name must be a whole token, which rejects both obs-fold (a line starting with whitespace, RFC 9112
        // §5.2: rejected, never unfolded) and whitespace between name and colon (§5.1: a server MUST answer 400).
        var colon = line.IndexOf((byte)':');
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
