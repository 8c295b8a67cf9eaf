using System.Buffers;
using System.Text.Json;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Cuts a model list answer (<c>/api/tags</c>, <c>/api/ps</c>, <c>/v1/models</c>) down to the models a client may
/// use. Everything else is copied byte for byte: the other top-level properties, and each kept entry as the upstream
/// wrote it. Only the list's removed entries, and the whitespace between entries, change.
/// </summary>
public static class ModelListFilter
{
    private static readonly JsonReaderOptions s_options = new() { MaxDepth = 256 };

    /// <summary>
    /// Writes <paramref name="json"/>, the whole answer, to <paramref name="output"/> with only the allowed entries
    /// in its list. An entry is kept when it names its model (<c>name</c> and <c>model</c>, or <c>id</c>) and every
    /// such field is a string the list allows; anything else in the list is dropped. False, with nothing written,
    /// when the answer is not one JSON object: the caller answers 502 rather than pass an unfiltered list on.
    /// </summary>
    public static bool TryFilter(in ReadOnlySequence<byte> json, ModelListFormat format, ModelAllowList allowed, IBufferWriter<byte> output)
    {
        if (!IsOneObject(json))
        {
            return false;
        }

        var listName = format == ModelListFormat.Ollama ? "models"u8 : "data"u8;
        var reader = new Utf8JsonReader(json, isFinalBlock: true, new JsonReaderState(s_options));
        reader.Read();
        var copied = 0L;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            // Every property of that name is filtered: a client may read the first or the last of duplicates.
            var isList = JsonNameMatcher.Matches(in reader, listName);
            reader.Read();
            if (isList && reader.TokenType == JsonTokenType.StartArray)
            {
                var afterOpen = reader.TokenStartIndex + 1;
                Write(output, json.Slice(copied, afterOpen - copied));
                FilterEntries(ref reader, json, format, allowed, output);
                copied = reader.TokenStartIndex;
            }
            else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                reader.Skip();
            }
        }

        Write(output, json.Slice(copied));
        return true;
    }

    /// <summary>Leaves <paramref name="reader"/> on the list's closing bracket.</summary>
    private static void FilterEntries(
        ref Utf8JsonReader reader, in ReadOnlySequence<byte> json, ModelListFormat format, ModelAllowList allowed, IBufferWriter<byte> output)
    {
        var first = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var start = reader.TokenStartIndex;
            bool keep;
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                keep = IsAllowedEntry(ref reader, format, allowed);
            }
            else
            {
                reader.Skip();
                keep = false;
            }

            if (keep)
            {
                if (!first)
                {
                    output.Write(","u8);
                }

                Write(output, json.Slice(start, reader.BytesConsumed - start));
                first = false;
            }
        }
    }

    /// <summary>Reads one entry object to its end; true when it names a model and names only allowed ones.</summary>
    private static bool IsAllowedEntry(ref Utf8JsonReader reader, ModelListFormat format, ModelAllowList allowed)
    {
        Span<byte> name = stackalloc byte[RequestModel.MaxNameLength];
        var named = false;
        var allAllowed = true;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var isName = format == ModelListFormat.Ollama
                ? JsonNameMatcher.Matches(in reader, "name"u8) || JsonNameMatcher.Matches(in reader, "model"u8)
                : JsonNameMatcher.Matches(in reader, "id"u8);
            reader.Read();
            if (isName)
            {
                named = true;
                allAllowed &= reader.TokenType == JsonTokenType.String
                    && JsonString.TryCopy(ref reader, name, out var length)
                    && allowed.Allows(name[..length]);
            }

            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                reader.Skip();
            }
        }

        return named && allAllowed;
    }

    private static bool IsOneObject(in ReadOnlySequence<byte> json)
    {
        var reader = new Utf8JsonReader(json, isFinalBlock: true, new JsonReaderState(s_options));
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            // With isFinalBlock, the reader also refuses anything after the object but whitespace.
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void Write(IBufferWriter<byte> output, in ReadOnlySequence<byte> bytes)
    {
        foreach (var segment in bytes)
        {
            output.Write(segment.Span);
        }
    }
}
