using System.Text;

namespace OllamaSocketProxy.Http1;

/// <summary>What a request-target asks for, once validated.</summary>
public enum TargetKind : byte
{
    /// <summary>A path to forward upstream, as <see cref="MappedTarget.Prefix"/> + <see cref="MappedTarget.Rest"/>.</summary>
    Forward,

    /// <summary><c>/</c>: Ollama's "is it running" page, answered locally for GET and HEAD.</summary>
    Root,

    /// <summary><c>*</c> (OPTIONS only, RFC 9112 §3.2.4): a question to the proxy itself.</summary>
    Asterisk,
}

/// <summary>The constant that stands before the kept part of the client's target.</summary>
public enum TargetPrefix : byte
{
    None,
    Api,
    ApiSlash,
}

/// <summary>
/// The forwarded target: <see cref="Prefix"/> followed by the client's target from <see cref="RestStart"/> on,
/// query included. Offsets rather than spans, so it can be kept across an await.
/// </summary>
public readonly record struct MappedTarget(TargetKind Kind, TargetPrefix Prefix, int RestStart)
{
    public static ReadOnlySpan<byte> PrefixBytes(TargetPrefix prefix) => prefix switch
    {
        TargetPrefix.Api => "/api"u8,
        TargetPrefix.ApiSlash => "/api/"u8,
        _ => default,
    };
}

/// <summary>
/// Validates a request-target and maps it onto the upstream's paths (docs/BEHAVIOUR.md#routing):
/// <c>/api/…</c> and <c>/v1/…</c> stay, repeated <c>/api</c> prefixes fold into one, anything else gets <c>/api</c>.
/// </summary>
public static class RequestTarget
{
    public static MappedTarget Map(ReadOnlySpan<byte> target)
    {
        if (target.SequenceEqual("*"u8))
        {
            return new MappedTarget(TargetKind.Asterisk, TargetPrefix.None, target.Length);
        }

        // RFC 9112 §3.2.2: absolute-form; only its path and query are used, the named host is never contacted.
        var originForm = target;
        var impliedSlash = false;
        if (TrySkipSchemeAndAuthority(target, out var afterAuthority))
        {
            originForm = afterAuthority;
            impliedSlash = originForm.IsEmpty || originForm[0] == '?';
        }
        else if (target.IsEmpty || target[0] != '/')
        {
            RequestRejections.Throw(RequestRejection.InvalidRequestTarget);
        }

        var queryStart = originForm.IndexOf((byte)'?');
        var path = queryStart < 0 ? originForm : originForm[..queryStart];
        if (originForm.IndexOfAny("#\\"u8) >= 0 || !IsSafePath(path))
        {
            RequestRejections.Throw(RequestRejection.InvalidRequestTarget);
        }

        if (impliedSlash || path.SequenceEqual("/"u8))
        {
            // Forwarded (other methods than GET and HEAD) as /api/ with the query kept.
            return new MappedTarget(TargetKind.Root, TargetPrefix.ApiSlash, RestStart(target, originForm[path.Length..]));
        }

        if (IsSegment(path, "/api"u8))
        {
            // /api/api/…/api/x → /api/x: keep one prefix, drop the repeats.
            var rest = originForm;
            while (IsSegment(rest, "/api"u8))
            {
                rest = rest[4..];
            }

            return new MappedTarget(TargetKind.Forward, TargetPrefix.Api, RestStart(target, rest));
        }

        var prefix = IsSegment(path, "/v1"u8) ? TargetPrefix.None : TargetPrefix.Api;
        return new MappedTarget(TargetKind.Forward, prefix, RestStart(target, originForm));
    }

    /// <summary>Where <paramref name="suffix"/>, a tail of <paramref name="target"/>, starts in it.</summary>
    private static int RestStart(ReadOnlySpan<byte> target, ReadOnlySpan<byte> suffix) => target.Length - suffix.Length;

    /// <summary>Whether <paramref name="path"/> starts with the whole segment <paramref name="segment"/> (<c>/api</c>, not <c>/apix</c>).</summary>
    private static bool IsSegment(ReadOnlySpan<byte> path, ReadOnlySpan<byte> segment) =>
        path.StartsWith(segment) && (path.Length == segment.Length || path[segment.Length] is (byte)'/' or (byte)'?');

    private static bool TrySkipSchemeAndAuthority(ReadOnlySpan<byte> target, out ReadOnlySpan<byte> rest)
    {
        var schemeEnd = target.IndexOf("://"u8);
        var scheme = schemeEnd < 0 ? default : target[..schemeEnd];
        if (!Ascii.EqualsIgnoreCase(scheme, "http"u8) && !Ascii.EqualsIgnoreCase(scheme, "https"u8))
        {
            rest = default;
            return false;
        }

        var authority = target[(schemeEnd + 3)..];
        var authorityEnd = authority.IndexOfAny("/?#"u8);
        rest = authorityEnd < 0 ? default : authority[authorityEnd..];
        return true;
    }

    /// <summary>
    /// Refuses what could make the upstream see another path than the proxy checked: dot-segments, also
    /// percent-encoded (RFC 3986 §5.2.4), encoded slashes and backslashes, encoded controls, malformed escapes.
    /// </summary>
    private static bool IsSafePath(ReadOnlySpan<byte> path)
    {
        var dots = 0;
        var otherInSegment = false;
        for (var i = 0; i < path.Length; i++)
        {
            var b = path[i];
            if (b == '/')
            {
                if (IsDotSegment(dots, otherInSegment))
                {
                    return false;
                }

                dots = 0;
                otherInSegment = false;
                continue;
            }

            if (b == '%')
            {
                if (i + 2 >= path.Length || !TryHexByte(path[i + 1], path[i + 2], out var decoded))
                {
                    return false;
                }

                i += 2;
                if (decoded is (byte)'/' or (byte)'\\' or < 0x20 or 0x7F)
                {
                    return false;
                }

                b = decoded;
            }

            if (b == '.')
            {
                dots++;
            }
            else
            {
                otherInSegment = true;
            }
        }

        return !IsDotSegment(dots, otherInSegment);
    }

    private static bool IsDotSegment(int dots, bool otherInSegment) => !otherInSegment && dots is 1 or 2;

    private static bool TryHexByte(byte high, byte low, out byte value)
    {
        var h = HttpSyntax.HexValue(high);
        var l = HttpSyntax.HexValue(low);
        value = (byte)((h << 4) | l);
        return h >= 0 && l >= 0;
    }
}
