using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Where a run of JSON string content ends (RFC 8259 §7): at its closing quote, an escape, or a control character,
/// which must be escaped. Shared by the readers that walk JSON by hand (<see cref="RequestModelScanner"/>, the usage
/// scanner).
/// </summary>
internal static class JsonStringStops
{
    private static readonly SearchValues<byte> s_stops = SearchValues.Create("\"\\\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"u8);

    /// <summary>
    /// Where the string's content in <paramref name="rest"/> stops, or -1. Most strings are short (names, roles,
    /// dates), so sixteen bytes are tested at a time with three comparisons, which costs less than setting up the
    /// general search (<see cref="SearchValues{T}"/>) for each of them; the search takes the bytes that are left.
    /// </summary>
    public static int IndexOf(ReadOnlySpan<byte> rest)
    {
        var offset = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            ref var start = ref MemoryMarshal.GetReference(rest);
            var quote = Vector128.Create((byte)'"');
            var backslash = Vector128.Create((byte)'\\');
            var space = Vector128.Create((byte)' ');
            for (; offset <= rest.Length - Vector128<byte>.Count; offset += Vector128<byte>.Count)
            {
                var bytes = Vector128.LoadUnsafe(ref start, (nuint)offset);
                var stops = Vector128.Equals(bytes, quote) | Vector128.Equals(bytes, backslash) | Vector128.LessThan(bytes, space);
                if (stops != Vector128<byte>.Zero)
                {
                    return offset + BitOperations.TrailingZeroCount(stops.ExtractMostSignificantBits());
                }
            }
        }

        var stop = rest[offset..].IndexOfAny(s_stops);
        return stop < 0 ? -1 : offset + stop;
    }
}
