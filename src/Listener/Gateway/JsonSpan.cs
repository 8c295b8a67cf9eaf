using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Pieces of JSON (RFC 8259) for the hand-written readers (<see cref="RequestModelScanner"/> and the usage scanner):
/// where string content stops and where a run of digits ends, where a string or a number in one span ends, whitespace.
/// </summary>
internal static class JsonSpan
{
    /// <summary>
    /// Where string content in <paramref name="rest"/> stops (RFC 8259 §7): at its closing quote, an escape, or a
    /// control character, which must be escaped; -1 when none of them is in it.
    /// </summary>
    /// <remarks>
    /// Most strings are short (names, roles, dates), so sixteen bytes are tested at a time with three comparisons,
    /// and the fewer bytes that are left one by one, which costs less than setting up the general search
    /// (<see cref="SearchValues{T}"/>) for each of them.
    /// </remarks>
    public static int IndexOfStringStop(ReadOnlySpan<byte> rest)
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

        for (; offset < rest.Length; offset++)
        {
            if (rest[offset] is (byte)'"' or (byte)'\\' or < (byte)' ')
            {
                return offset;
            }
        }

        return -1;
    }

    /// <summary>The index of the first byte in <paramref name="rest"/> that is not an ASCII digit, or -1 when all are.</summary>
    /// <remarks>
    /// Numbers are short (a count, a duration in nanoseconds): sixteen bytes are tested at once, as for strings, and
    /// fewer one by one, which costs less than setting up the general search for each number.
    /// </remarks>
    public static int IndexOfNonDigit(ReadOnlySpan<byte> rest)
    {
        var offset = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            ref var start = ref MemoryMarshal.GetReference(rest);
            var zero = Vector128.Create((byte)'0');
            var nine = Vector128.Create((byte)9);
            for (; offset <= rest.Length - Vector128<byte>.Count; offset += Vector128<byte>.Count)
            {
                // Below '0' wraps around to above 9 too: one unsigned comparison finds every byte that is no digit.
                var others = Vector128.GreaterThan(Vector128.LoadUnsafe(ref start, (nuint)offset) - zero, nine);
                if (others != Vector128<byte>.Zero)
                {
                    return offset + BitOperations.TrailingZeroCount(others.ExtractMostSignificantBits());
                }
            }
        }

        for (; offset < rest.Length; offset++)
        {
            if ((uint)(rest[offset] - '0') > 9)
            {
                return offset;
            }
        }

        return -1;
    }

    /// <summary>
    /// The index of the quote that closes the string whose content starts at <paramref name="i"/>, or -1: the string
    /// does not end within <paramref name="json"/>, or holds a control character or an escape that JSON does not have.
    /// UTF-8 is not checked (as <see cref="System.Text.Json.Utf8JsonReader"/> does not check it while reading).
    /// </summary>
    /// <remarks>
    /// Most strings (names, roles, dates) end within sixteen bytes and hold no escape: one test of sixteen bytes, in
    /// line, finds their quote; any other string is walked by the loop.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int EndOfString(ReadOnlySpan<byte> json, int i)
    {
        if (Vector128.IsHardwareAccelerated && i <= json.Length - Vector128<byte>.Count)
        {
            var bytes = Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(json), (nuint)i);
            var stops = Vector128.Equals(bytes, Vector128.Create((byte)'"')) | Vector128.Equals(bytes, Vector128.Create((byte)'\\'))
                | Vector128.LessThan(bytes, Vector128.Create((byte)' '));
            if (stops != Vector128<byte>.Zero)
            {
                var stop = i + BitOperations.TrailingZeroCount(stops.ExtractMostSignificantBits());
                if (json[stop] == '"')
                {
                    return stop;
                }
            }
        }

        return EndOfAnyString(json, i);
    }

    /// <summary><see cref="EndOfString"/> for any string: stop after stop, escapes checked.</summary>
    private static int EndOfAnyString(ReadOnlySpan<byte> json, int i)
    {
        while (true)
        {
            var stop = IndexOfStringStop(json[i..]);
            if (stop < 0)
            {
                return -1;
            }

            i += stop;
            if (json[i] == '"')
            {
                return i;
            }

            if (json[i] != '\\' || i + 1 == json.Length)
            {
                return -1;
            }

            switch (json[i + 1])
            {
                case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                    i += 2;
                    break;
                case (byte)'u':
                    if (i + 6 > json.Length)
                    {
                        return -1;
                    }

                    for (var h = i + 2; h < i + 6; h++)
                    {
                        if (HexDigit.Value(json[h]) < 0)
                        {
                            return -1;
                        }
                    }

                    i += 6;
                    break;
                default:
                    return -1;
            }
        }
    }

    /// <summary>
    /// Where the number (RFC 8259 §6) that starts at <paramref name="i"/> ends (the index after it), or -1: not a number,
    /// or not followed within <paramref name="json"/> by what may follow a value, so that it could go on past it.
    /// </summary>
    public static int EndOfNumber(ReadOnlySpan<byte> json, int i)
    {
        if (json[i] == '-')
        {
            i++;
        }

        if (i == json.Length || (uint)(json[i] - '0') > 9)
        {
            return -1;
        }

        i = json[i] == '0' ? i + 1 : EndOfDigits(json, i);
        if (i < json.Length && json[i] == '.')
        {
            i = EndOfDigits(json, i + 1, atLeastOne: true);
        }

        if (i >= 0 && i < json.Length && json[i] is (byte)'e' or (byte)'E')
        {
            i++;
            if (i < json.Length && json[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }

            i = EndOfDigits(json, i, atLeastOne: true);
        }

        return i >= 0 && i < json.Length && json[i] is (byte)',' or (byte)'}' or (byte)']' or (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r'
            ? i
            : -1;
    }

    private static int EndOfDigits(ReadOnlySpan<byte> json, int i, bool atLeastOne = false)
    {
        var length = IndexOfNonDigit(json[i..]);
        if (length < 0)
        {
            length = json.Length - i;
        }

        return atLeastOne && length == 0 ? -1 : i + length;
    }

    /// <summary>The index of the first byte from <paramref name="i"/> on that is not JSON whitespace, or the length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SkipWhitespace(ReadOnlySpan<byte> json, int i)
    {
        while (i < json.Length && json[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
        {
            i++;
        }

        return i;
    }
}
