using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>The quick walk of a value that came whole in one piece (a body in one read, a line).</summary>
internal partial struct UsageJsonScanner
{
    /// <summary>Deeper nesting is left to <see cref="Scan"/>.</summary>
    private const int MaxWholeDepth = 64;

    /// <summary>
    /// Walks a value from its start (after <see cref="Configure"/> or <see cref="Begin"/>) when all of it is in
    /// <paramref name="bytes"/>: one pass with its place in locals, not a state kept between bytes, so it costs less
    /// than <see cref="Scan"/>. True when the value is an object that ends within <paramref name="bytes"/> with only
    /// whitespace after it: the scanner then stands exactly as <see cref="Scan"/> would leave it, and takes any later
    /// bytes as <see cref="Scan"/> does. False when the scanner is not at a value's start, or when the bytes are
    /// anything else (cut short, malformed, nested deeper than 64 levels, not an object): then nothing is read, and
    /// <see cref="Scan"/> must take them.
    /// </summary>
    public bool TryScanWhole(ReadOnlySpan<byte> bytes)
    {
        if (_mode != Mode.Value || _depth != 0)
        {
            return false;
        }

        var i = JsonSpan.SkipWhitespace(bytes, 0);
        if (i < bytes.Length && bytes[i] == '{' && WholeContainer(bytes, ref i, isObject: true)
            && JsonSpan.SkipWhitespace(bytes, i) == bytes.Length)
        {
            _mode = Mode.Complete;
            return true;
        }

        Begin();
        return false;
    }

    /// <summary>The container whose opening bracket is at <paramref name="i"/>; <paramref name="i"/> ends after its closing one.</summary>
    private bool WholeContainer(ReadOnlySpan<byte> json, ref int i, bool isObject)
    {
        if (_depth == MaxWholeDepth)
        {
            return false;
        }

        // As Push: a new container has no name yet.
        _depth++;
        SetName(Name.None);
        var close = isObject ? (byte)'}' : (byte)']';
        i = JsonSpan.SkipWhitespace(json, i + 1);
        if (i < json.Length && json[i] == close)
        {
            i++;
            _depth--;
            return true;
        }

        while (true)
        {
            if (isObject)
            {
                if (i == json.Length || json[i] != '"' || JsonSpan.EndOfString(json, i + 1) is not (>= 0 and var end))
                {
                    return false;
                }

                SetName(WholeName(json[(i + 1)..end]));
                i = JsonSpan.SkipWhitespace(json, end + 1);
                if (i == json.Length || json[i] != ':')
                {
                    return false;
                }

                i = JsonSpan.SkipWhitespace(json, i + 1);
            }

            if (i == json.Length || !WholeValue(json, ref i))
            {
                return false;
            }

            i = JsonSpan.SkipWhitespace(json, i);
            if (i == json.Length)
            {
                return false;
            }

            if (json[i] == ',')
            {
                i = JsonSpan.SkipWhitespace(json, i + 1);
                continue;
            }

            if (json[i] != close)
            {
                return false;
            }

            i++;
            _depth--;
            return true;
        }
    }

    /// <summary>A name as <see cref="StartName"/> and <see cref="ScanString"/> tell it: kept only on a path to a count, and only as sent.</summary>
    private readonly Name WholeName(ReadOnlySpan<byte> name) =>
        NameWanted && name.Length <= MaxNameLength && !name.Contains((byte)'\\') ? Identify(name) : Name.Other;

    /// <summary>The value at <paramref name="i"/>, as <see cref="StartValue"/> and what follows it read it.</summary>
    private bool WholeValue(ReadOnlySpan<byte> json, ref int i)
    {
        var slot = SlotOfValue();
        var b = json[i];
        switch (b)
        {
            case (byte)'{':
                ObjectStarts(slot);
                return WholeContainer(json, ref i, isObject: true);
            case (byte)'[':
                _odd |= IsCount(slot);
                return WholeContainer(json, ref i, isObject: false);
            case (byte)'"':
                _odd |= IsCount(slot);
                i = JsonSpan.EndOfString(json, i + 1);
                if (i < 0)
                {
                    return false;
                }

                i++;
                return true;
            case (byte)'t' or (byte)'f' or (byte)'n':
                _odd |= IsCount(slot);
                var literal = b switch { (byte)'t' => "true"u8, (byte)'f' => "false"u8, _ => "null"u8 };
                if (!json[i..].StartsWith(literal))
                {
                    return false;
                }

                i += literal.Length;
                _done |= slot == Slot.Done && b == 't';
                return true;
            default:
                return WholeNumber(json, ref i, slot);
        }
    }

    /// <summary>A number (RFC 8259 §6); a count's value is kept as <see cref="NumberEnds"/> keeps it.</summary>
    private bool WholeNumber(ReadOnlySpan<byte> json, ref int i, Slot slot)
    {
        var plain = json[i] != '-';
        if (!plain)
        {
            i++;
        }

        if (i == json.Length || (uint)(json[i] - '0') > 9)
        {
            return false;
        }

        long value = 0;
        var digits = json[i] == '0' ? 1 : DigitsFrom(json, i);
        if (IsCount(slot) && plain)
        {
            foreach (var digit in json.Slice(i, digits))
            {
                var d = digit - '0';
                if (value > (long.MaxValue - d) / 10)
                {
                    plain = false;
                    break;
                }

                value = (value * 10) + d;
            }
        }

        i += digits;
        if (i < json.Length && json[i] == '.')
        {
            plain = false;
            digits = DigitsFrom(json, i + 1);
            if (digits == 0)
            {
                return false;
            }

            i += 1 + digits;
        }

        if (i < json.Length && json[i] is (byte)'e' or (byte)'E')
        {
            plain = false;
            i += i + 1 < json.Length && json[i + 1] is (byte)'+' or (byte)'-' ? 2 : 1;
            digits = DigitsFrom(json, i);
            if (digits == 0)
            {
                return false;
            }

            i += digits;
        }

        // Digits up to the end of the bytes could go on in the next piece; what follows is checked by the container.
        if (i >= json.Length)
        {
            return false;
        }

        NumberEnds(slot, plain, value);
        return true;
    }

    /// <summary>How many digits there are from <paramref name="i"/> on.</summary>
    private static int DigitsFrom(ReadOnlySpan<byte> json, int i)
    {
        var length = json[i..].IndexOfAnyExceptInRange((byte)'0', (byte)'9');
        return length < 0 ? json.Length - i : length;
    }
}
