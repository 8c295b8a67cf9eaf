using System.Buffers;

namespace OllamaSocketProxy.Http1;

/// <summary><c>request-line = method SP request-target SP HTTP-version</c> (RFC 9112 §3), one SP each, nothing else.</summary>
internal static class RequestLineParser
{
    /// <summary>
    /// False when the request line at <paramref name="reader"/> starts with more token bytes than any method has
    /// (<see cref="RequestMethods.MaxLength"/>): whatever follows, it holds no method. Decided on that prefix alone,
    /// so a long token is refused before its line is complete, and as a bad method (400), not as a long target (414).
    /// Any other byte in the prefix leaves the decision to the whole line, as before.
    /// </summary>
    public static bool MethodCanEnd(SequenceReader<byte> reader)
    {
        const int Window = RequestMethods.MaxLength + 1;
        var unread = reader.UnreadSpan;
        if (unread.Length >= Window)
        {
            return !HttpSyntax.IsToken(unread[..Window]);
        }

        Span<byte> window = stackalloc byte[Window];
        return !reader.TryCopyTo(window) || !HttpSyntax.IsToken(window);
    }

    /// <summary>Parses <paramref name="line"/> (CRLF removed), which starts at offset 0 of the head.</summary>
    public static void Parse(ReadOnlySpan<byte> line, RequestHead head)
    {
        var firstSpace = line.IndexOf((byte)' ');
        if (firstSpace <= 0 || !HttpSyntax.IsToken(line[..firstSpace]))
        {
            RequestRejections.Throw(RequestRejection.InvalidRequestLine);
        }

        var rest = line[(firstSpace + 1)..];
        var secondSpace = rest.IndexOf((byte)' ');
        if (secondSpace <= 0)
        {
            RequestRejections.Throw(RequestRejection.InvalidRequestLine);
        }

        foreach (var b in rest[..secondSpace])
        {
            if (!HttpSyntax.IsTargetChar(b))
            {
                RequestRejections.Throw(RequestRejection.InvalidRequestTarget);
            }
        }

        var targetStart = firstSpace + 1;
        var version = ParseVersion(rest[(secondSpace + 1)..]);
        head.SetRequestLine(
            RequestMethods.Lookup(line[..firstSpace]),
            new Range(0, firstSpace),
            new Range(targetStart, targetStart + secondSpace),
            version);
    }

    private static Http1Version ParseVersion(ReadOnlySpan<byte> version)
    {
        if (version.SequenceEqual("HTTP/1.1"u8))
        {
            return Http1Version.Http11;
        }

        if (version.SequenceEqual("HTTP/1.0"u8))
        {
            return Http1Version.Http10;
        }

        // RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT; a well-formed other version is 505, anything else 400.
        var wellFormed = version.Length == 8 && version.StartsWith("HTTP/"u8)
            && char.IsAsciiDigit((char)version[5]) && version[6] == '.' && char.IsAsciiDigit((char)version[7]);
        RequestRejections.Throw(wellFormed ? RequestRejection.HttpVersionNotSupported : RequestRejection.InvalidRequestLine);
        return default;
    }
}
