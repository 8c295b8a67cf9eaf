using System.Buffers;
using System.Text.Json;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Finds the model a JSON request body names: the top-level <c>"model"</c> string, read over the bytes the proxy
/// holds, never re-serialized: by <see cref="RequestModelScanner"/> when the bytes are in one piece and plain, else
/// with <see cref="Utf8JsonReader"/>. A <c>"model"</c> inside messages, options or tools is skipped whole. Field
/// names match as Ollama's server matches them (unescaped, any case, see <see cref="JsonNameMatcher"/>), so no
/// spelling of the field slips past the allow-list.
/// </summary>
public static class RequestModel
{
    /// <summary>How much of a body is read for its model: a model not named within it counts as not named.</summary>
    public const int ScanLimit = 64 * 1024;

    /// <summary>
    /// Room enough for any model name Ollama accepts (host up to 350 bytes; namespace, kind, model and tag up to 80
    /// each; separators), with margin.
    /// </summary>
    public const int MaxNameLength = 1024;

    // RFC 8259 as Go's encoding/json reads it: no comments, no trailing commas. Deeper nesting than this in a
    // request is refused rather than walked.
    private static readonly JsonReaderOptions s_options = new() { MaxDepth = 256 };

    /// <summary>
    /// Reads at most the first <see cref="ScanLimit"/> bytes of <paramref name="body"/> (all of it, or a prefix: the
    /// reader never assumes the body ends where the bytes do) and, when a model is found, writes its name, unescaped
    /// UTF-8, to <paramref name="name"/> (give it <see cref="MaxNameLength"/> bytes). Allocates nothing.
    /// </summary>
    /// <remarks>
    /// With <see cref="ModelField.ModelOrName"/>, <see cref="RequestModelStatus.Found"/> also needs the top-level
    /// object to end within the bytes read, since a later "model" would take precedence over a "name".
    /// </remarks>
    public static RequestModelStatus Find(in ReadOnlySequence<byte> body, ModelField field, Span<byte> name, out int nameLength)
    {
        var window = body.Length > ScanLimit ? body.Slice(0, ScanLimit) : body;
        // A longer body rarely closes its object within the window, and the walk would decline after reading all of it.
        if (body.Length <= ScanLimit && window.IsSingleSegment
            && RequestModelScanner.TryFind(window.FirstSpan, field, name, out var status, out nameLength))
        {
            return status;
        }

        return FindWithReader(window, field, name, out nameLength);
    }

    /// <summary>
    /// <see cref="Find"/> by <see cref="Utf8JsonReader"/> alone, over the bytes it may read: the reading that
    /// <see cref="RequestModelScanner"/> must agree with wherever it answers.
    /// </summary>
    internal static RequestModelStatus FindWithReader(in ReadOnlySequence<byte> window, ModelField field, Span<byte> name, out int nameLength)
    {
        var reader = new Utf8JsonReader(window, isFinalBlock: false, new JsonReaderState(s_options));
        try
        {
            return Scan(ref reader, field, name, out nameLength);
        }
        catch (JsonException)
        {
            nameLength = 0;
            return RequestModelStatus.Invalid;
        }
    }

    private static RequestModelStatus Scan(ref Utf8JsonReader reader, ModelField field, Span<byte> name, out int nameLength)
    {
        nameLength = 0;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return RequestModelStatus.NotFound;
        }

        var models = 0;
        var names = 0;
        var modelLength = 0;
        var legacyLength = 0;
        var objectEnded = false;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                objectEnded = true;
                break;
            }

            var isModel = JsonNameMatcher.Matches(in reader, "model"u8);
            var isName = !isModel && field == ModelField.ModelOrName && JsonNameMatcher.Matches(in reader, "name"u8);
            if (!reader.Read())
            {
                break;
            }

            if (isModel)
            {
                if (++models > 1)
                {
                    return RequestModelStatus.Ambiguous;
                }

                // A non-string model is as good as none; Ollama's server refuses the body then anyway.
                if (reader.TokenType == JsonTokenType.String)
                {
                    if (!JsonString.TryCopy(ref reader, name, out modelLength))
                    {
                        return RequestModelStatus.Invalid;
                    }
                }
            }
            else if (isName)
            {
                if (++names > 1)
                {
                    return RequestModelStatus.Ambiguous;
                }

                // The legacy name shares the buffer; a non-empty model, before or after it, wins.
                if (reader.TokenType == JsonTokenType.String && modelLength == 0)
                {
                    if (!JsonString.TryCopy(ref reader, name, out legacyLength))
                    {
                        return RequestModelStatus.Invalid;
                    }
                }
            }

            if ((reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) && !reader.TrySkip())
            {
                break;
            }
        }

        if (field == ModelField.ModelOrName && !objectEnded)
        {
            return RequestModelStatus.NotFound;
        }

        nameLength = modelLength > 0 ? modelLength : legacyLength;
        return nameLength > 0 ? RequestModelStatus.Found : RequestModelStatus.NotFound;
    }
}
