using System.Buffers.Text;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener.Usage;

internal partial struct UsageJsonScanner
{
    /// <summary>Deeper nesting is left to the byte-by-byte walk, which keeps one bit per level up to <see cref="MaxDepth"/>.</summary>
    private const int MaxWholeDepth = 64;

    /// <summary>
    /// The short way through a value that starts and ends in <paramref name="json"/>, as most answers and stream lines
    /// arrive: one pass with the walk's state in locals, from the value's first byte to its last, each member's value
    /// told by its first byte. True when the value is whole and well-formed with nothing but whitespace after it: then
    /// the scanner stands where <see cref="Scan"/> would leave it. False when it is not, or cannot say (the value goes on
    /// past the bytes, or nests deeper than <see cref="MaxWholeDepth"/>): then nothing is taken from it, and the caller
    /// walks the same bytes byte by byte, which finds where they go wrong. It accepts what that walk accepts, by the
    /// same grammar (RFC 8259), and takes the same counts.
    /// </summary>
    /// <remarks>Called only before the value's first byte; it writes a count's value as it reads it, which counts only once its bit is set.</remarks>
    private bool TryScanWhole(ReadOnlySpan<byte> json)
    {
        var dialect = _dialect;
        var i = JsonSpan.SkipWhitespace(json, 0);
        var depth = 0;
        ulong objects = 0; // one bit per open container: set for an object
        var (name1, name2, name3) = (Name.None, Name.None, Name.None);
        var (done, rootUsage, nestedUsage, odd) = (false, false, false, false);
        ushort present = 0;

    Value:
        if (i >= json.Length)
        {
            return false;
        }

        var slot = SlotOf(depth, name1, name2, name3);
        switch (json[i])
        {
            case (byte)'"':
                odd |= IsCount(slot);
                i = JsonSpan.EndOfString(json, i + 1);
                if (i < 0)
                {
                    return false;
                }

                i++;
                goto AfterValue;
            case (byte)'{' or (byte)'[':
                if (depth == MaxWholeDepth)
                {
                    return false;
                }

                var isObject = json[i] == '{';
                rootUsage |= isObject && slot == Slot.RootUsage;
                nestedUsage |= isObject && slot == Slot.NestedUsage;
                odd |= IsCount(slot);
                objects = isObject ? objects | (1UL << depth) : objects & ~(1UL << depth);
                depth++;

                // A new container has no name yet: a stale one from a sibling must not give its values a slot.
                SetName(depth, Name.None, ref name1, ref name2, ref name3);
                i = JsonSpan.SkipWhitespace(json, i + 1);
                if (i < json.Length && json[i] == (isObject ? '}' : ']'))
                {
                    depth--;
                    i++;
                    goto AfterValue;
                }

                if (isObject)
                {
                    goto Member;
                }

                goto Value;
            case (byte)'t':
                if (!json[i..].StartsWith("true"u8))
                {
                    return false;
                }

                done |= slot == Slot.Done;
                odd |= IsCount(slot);
                i += 4;
                goto AfterValue;
            case (byte)'f' or (byte)'n':
                if (!json[i..].StartsWith(json[i] == 'f' ? "false"u8 : "null"u8))
                {
                    return false;
                }

                odd |= IsCount(slot);
                i += json[i] == 'f' ? 5 : 4;
                goto AfterValue;
            default:
                i = WholeNumber(json, i, slot, ref odd, ref present);
                if (i < 0)
                {
                    return false;
                }

                goto AfterValue;
        }

    AfterValue:
        i = JsonSpan.SkipWhitespace(json, i);
        if (depth == 0)
        {
            if (i < json.Length)
            {
                return false;
            }

            _mode = Mode.Complete;
            (_done, _rootUsage, _nestedUsage, _odd, _present) = (done, rootUsage, nestedUsage, odd, present);
            return true;
        }

        if (i == json.Length)
        {
            return false;
        }

        var inObject = ((objects >> (depth - 1)) & 1) != 0;
        if (json[i] == ',')
        {
            i = JsonSpan.SkipWhitespace(json, i + 1);
            if (inObject)
            {
                goto Member;
            }

            goto Value;
        }

        if (json[i] != (inObject ? '}' : ']'))
        {
            return false;
        }

        depth--;
        i++;
        goto AfterValue;

    Member:
        if (i == json.Length || json[i] != '"')
        {
            return false;
        }

        var nameEnd = JsonSpan.EndOfString(json, i + 1);
        if (nameEnd < 0)
        {
            return false;
        }

        // An escaped name is none of ours: its bytes match none of the plain names.
        var name = IsWanted(depth, name1, name2) ? Identify(dialect, json[(i + 1)..nameEnd]) : Name.Other;
        SetName(depth, name, ref name1, ref name2, ref name3);
        i = JsonSpan.SkipWhitespace(json, nameEnd + 1);
        if (i == json.Length || json[i] != ':')
        {
            return false;
        }

        i = JsonSpan.SkipWhitespace(json, i + 1);
        goto Value;
    }

    /// <summary>
    /// The number that starts at <paramref name="i"/>, in a value that is <paramref name="slot"/>: the index after it, or
    /// -1 (<see cref="JsonSpan.EndOfNumber"/>). A count's value counts when it is a whole number written with digits
    /// only that fits a long; else the answer is odd.
    /// </summary>
    private int WholeNumber(ReadOnlySpan<byte> json, int i, Slot slot, ref bool odd, ref ushort present)
    {
        var end = JsonSpan.EndOfNumber(json, i);
        if (end < 0 || !IsCount(slot))
        {
            return end;
        }

        var number = json[i..end];
        if (JsonSpan.IndexOfNonDigit(number) < 0 && Utf8Parser.TryParse(number, out long value, out var parsed) && parsed == number.Length)
        {
            _values[(int)slot] = value;
            present |= (ushort)(1 << (int)slot);
        }
        else
        {
            odd = true;
        }

        return end;
    }
}
