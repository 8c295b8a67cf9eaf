namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// A forwarded path as the upstream's router sees it, for the policies that classify routes (model rules, usage
/// counting): the query dropped, percent-escapes decoded (RFC 3986 §2.1), runs of <c>/</c> as one, no trailing
/// <c>/</c>. So a spelling the upstream serves is judged like the plain one.
/// </summary>
internal static class RoutePath
{
    /// <summary>
    /// Writes <paramref name="prefix"/> + <paramref name="rest"/>, normalized, into <paramref name="destination"/>;
    /// false when it does not fit (it never does when the destination is as long as both).
    /// </summary>
    public static bool TryNormalize(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> rest, Span<byte> destination, out int length)
    {
        length = 0;
        if (!Append(prefix, destination, ref length) || !Append(rest, destination, ref length))
        {
            return false;
        }

        if (length > 1 && destination[length - 1] == '/')
        {
            length--;
        }

        return true;
    }

    private static bool Append(ReadOnlySpan<byte> source, Span<byte> destination, ref int length)
    {
        for (var i = 0; i < source.Length; i++)
        {
            var b = source[i];
            if (b == '?')
            {
                return true;
            }

            if (b == '%' && i + 2 < source.Length && TryHexByte(source[i + 1], source[i + 2], out var decoded))
            {
                b = decoded;
                i += 2;
            }

            if (b == '/' && length > 0 && destination[length - 1] == '/')
            {
                continue;
            }

            if (length == destination.Length)
            {
                return false;
            }

            destination[length++] = b;
        }

        return true;
    }

    private static bool TryHexByte(byte high, byte low, out byte value)
    {
        var h = HexDigit.Value(high);
        var l = HexDigit.Value(low);
        value = (byte)((h << 4) | l);
        return h >= 0 && l >= 0;
    }
}
