using System.Text.Unicode;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// The short way to <see cref="RequestModel.Find"/>'s answer, for bytes in one piece: the top-level object walked by
/// hand, each skipped value checked against RFC 8259's grammar without a token of it being made. It answers only
/// where <see cref="System.Text.Json.Utf8JsonReader"/> would answer the same, and declines everything else to it:
/// bytes that are not JSON or end before the object does, a model or name given twice, an escaped model name, nesting
/// deeper than <see cref="MaxDepth"/>. What it accepts, the reader accepts: the same whitespace, strings (escapes
/// checked; UTF-8 inside strings is not, as the reader does not check it either), numbers and literals.
/// </summary>
/// <remarks>
/// A request's body is read once, whichever policies ask for its model (<see cref="BodyModel"/>); most bodies are plain
/// (an unescaped name, a few messages), and for them this costs a fraction of the reader's general machinery.
/// </remarks>
internal static class RequestModelScanner
{
    /// <summary>Deeper nesting is declined; the reader takes it, up to its own limit.</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// True when the answer for <paramref name="json"/> is known here: then <paramref name="status"/> and
    /// <paramref name="nameLength"/> are what <see cref="RequestModel.Find"/> gives, and the name is in
    /// <paramref name="name"/>. False: ask the reader.
    /// </summary>
    public static bool TryFind(ReadOnlySpan<byte> json, ModelField field, Span<byte> name, out RequestModelStatus status, out int nameLength)
    {
        status = RequestModelStatus.NotFound;
        nameLength = 0;
        var i = JsonSpan.SkipWhitespace(json, 0);
        if (i == json.Length || json[i] != '{')
        {
            return false;
        }

        var models = 0;
        var names = 0;
        var modelLength = 0;
        var legacyLength = 0;
        i = JsonSpan.SkipWhitespace(json, i + 1);
        if (i < json.Length && json[i] == '}')
        {
            return true;
        }

        while (true)
        {
            if (i == json.Length || json[i] != '"' || JsonSpan.EndOfString(json, i + 1) is not (>= 0 and var keyEnd))
            {
                return false;
            }

            var key = json[(i + 1)..keyEnd];
            var isModel = JsonNameMatcher.Matches(key, "model"u8);
            var isName = !isModel && field == ModelField.ModelOrName && JsonNameMatcher.Matches(key, "name"u8);
            i = JsonSpan.SkipWhitespace(json, keyEnd + 1);
            if (i == json.Length || json[i] != ':')
            {
                return false;
            }

            i = JsonSpan.SkipWhitespace(json, i + 1);
            if (i == json.Length)
            {
                return false;
            }

            // The reader refuses a second one only once it has read its value: that order is left to it.
            if ((isModel && ++models > 1) || (isName && ++names > 1))
            {
                return false;
            }

            if ((isModel || isName) && json[i] == '"')
            {
                if (JsonSpan.EndOfString(json, i + 1) is not (>= 0 and var valueEnd))
                {
                    return false;
                }

                var value = json[(i + 1)..valueEnd];
                if (value.Contains((byte)'\\'))
                {
                    return false;
                }

                // As the reader path copies: the model always, the legacy name while no model is known (RequestModel).
                if (isModel || modelLength == 0)
                {
                    if (value.Length > name.Length || !Utf8.IsValid(value))
                    {
                        status = RequestModelStatus.Invalid;
                        return true;
                    }

                    value.CopyTo(name);
                    if (isModel)
                    {
                        modelLength = value.Length;
                    }
                    else
                    {
                        legacyLength = value.Length;
                    }
                }

                i = valueEnd + 1;
            }
            else
            {
                i = SkipValue(json, i);
                if (i < 0)
                {
                    return false;
                }
            }

            i = JsonSpan.SkipWhitespace(json, i);
            if (i == json.Length)
            {
                return false;
            }

            if (json[i] == '}')
            {
                break;
            }

            if (json[i] != ',')
            {
                return false;
            }

            i = JsonSpan.SkipWhitespace(json, i + 1);
        }

        nameLength = modelLength > 0 ? modelLength : legacyLength;
        status = nameLength > 0 ? RequestModelStatus.Found : RequestModelStatus.NotFound;
        return true;
    }

    /// <summary>
    /// Where the value that starts at <paramref name="i"/> ends (the index after it), or -1 when it is declined: not
    /// JSON, not whole within the bytes, or nested deeper than <see cref="MaxDepth"/>.
    /// </summary>
    private static int SkipValue(ReadOnlySpan<byte> json, int i)
    {
        ulong objects = 0; // one bit per open container: set for an object
        var depth = 0;
        while (true)
        {
            // A value starts at i.
            if (i == json.Length)
            {
                return -1;
            }

            switch (json[i])
            {
                case (byte)'"':
                    i = JsonSpan.EndOfString(json, i + 1);
                    if (i < 0)
                    {
                        return -1;
                    }

                    i++;
                    break;
                case (byte)'{' or (byte)'[':
                    if (depth == MaxDepth)
                    {
                        return -1;
                    }

                    var isObject = json[i] == '{';
                    objects = isObject ? objects | (1UL << depth) : objects & ~(1UL << depth);
                    depth++;
                    i = JsonSpan.SkipWhitespace(json, i + 1);
                    if (i < json.Length && json[i] == (isObject ? '}' : ']'))
                    {
                        depth--;
                        i++;
                        break;
                    }

                    i = isObject ? Member(json, i) : i;
                    if (i < 0)
                    {
                        return -1;
                    }

                    continue;
                case (byte)'t':
                    i = Literal(json, i, "true"u8);
                    break;
                case (byte)'f':
                    i = Literal(json, i, "false"u8);
                    break;
                case (byte)'n':
                    i = Literal(json, i, "null"u8);
                    break;
                default:
                    i = JsonSpan.EndOfNumber(json, i);
                    break;
            }

            if (i < 0)
            {
                return -1;
            }

            // A value ended: the containers it closes, then the next value of the one it is in.
            while (true)
            {
                if (depth == 0)
                {
                    return i;
                }

                i = JsonSpan.SkipWhitespace(json, i);
                if (i == json.Length)
                {
                    return -1;
                }

                var inObject = ((objects >> (depth - 1)) & 1) != 0;
                if (json[i] == ',')
                {
                    i = JsonSpan.SkipWhitespace(json, i + 1);
                    i = inObject ? Member(json, i) : i;
                    if (i < 0)
                    {
                        return -1;
                    }

                    break;
                }

                if (json[i] != (inObject ? '}' : ']'))
                {
                    return -1;
                }

                depth--;
                i++;
            }
        }
    }

    /// <summary>A member's name and colon from <paramref name="i"/>: where its value starts, or -1.</summary>
    private static int Member(ReadOnlySpan<byte> json, int i)
    {
        if (i == json.Length || json[i] != '"')
        {
            return -1;
        }

        i = JsonSpan.EndOfString(json, i + 1);
        if (i < 0)
        {
            return -1;
        }

        i = JsonSpan.SkipWhitespace(json, i + 1);
        return i < json.Length && json[i] == ':' ? JsonSpan.SkipWhitespace(json, i + 1) : -1;
    }

    private static int Literal(ReadOnlySpan<byte> json, int i, ReadOnlySpan<byte> literal) =>
        json[i..].StartsWith(literal) ? i + literal.Length : -1;
}
