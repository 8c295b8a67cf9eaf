using System.Text.Json;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// The clients file (<c>PROXY_CLIENTS_FILE</c>, README "Several clients and keys"): one JSON object whose
/// <c>clients</c> array holds one object per client. Comments and trailing commas are allowed; an unknown property is
/// an error, so a typo does not pass silently. Every error names its line and never quotes a token or a digest.
/// </summary>
public sealed class ClientsFile
{
    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private ClientsFile(string? path, IReadOnlyList<ClientDefinition> clients, ClientsFileLayout layout)
    {
        Path = path;
        Clients = clients;
        Layout = layout;
    }

    /// <summary>The file the clients came from; <c>null</c> when they were parsed from bytes.</summary>
    public string? Path { get; }

    /// <summary>The clients, in file order.</summary>
    public IReadOnlyList<ClientDefinition> Clients { get; }

    internal ClientsFileLayout Layout { get; }

    /// <summary>Reads and parses the file at <paramref name="path"/>; throws <see cref="ClientsFileException"/>.</summary>
    public static ClientsFile Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ClientsFileException(path, 0, $"cannot be read: {e.Message}");
        }

        return Parse(bytes, path);
    }

    /// <summary>Parses UTF-8 JSON (a byte order mark is skipped); <paramref name="path"/> only names the file in errors.</summary>
    public static ClientsFile Parse(ReadOnlySpan<byte> utf8Json, string? path = null)
    {
        var bom = utf8Json.StartsWith("\uFEFF"u8) ? 3 : 0;
        var parser = new Parser(utf8Json[bom..], path);
        var (clients, layout) = parser.ParseFile();
        return new ClientsFile(path, clients, bom == 0 ? layout : Shift(layout, bom));
    }

    private static ClientsFileLayout Shift(ClientsFileLayout layout, int by) => new(
        layout.ArrayClose + by,
        layout.LastElementStart < 0 ? -1 : layout.LastElementStart + by,
        layout.LastElementEnd < 0 ? -1 : layout.LastElementEnd + by);

    private enum Field
    {
        Name = 1,
        TokenSha256 = 2,
        Models = 4,
        MaxConcurrent = 8,
        RequestsPerMinute = 16,
        Manage = 32,
    }

    private ref struct Parser
    {
        private const string KnownFields = "name, token_sha256, models, max_concurrent, requests_per_minute, manage";

        private readonly ReadOnlySpan<byte> _json;
        private readonly string? _path;
        private Utf8JsonReader _reader;

        public Parser(ReadOnlySpan<byte> json, string? path)
        {
            _json = json;
            _path = path;
            _reader = new Utf8JsonReader(json, ReaderOptions);
        }

        public (IReadOnlyList<ClientDefinition> Clients, ClientsFileLayout Layout) ParseFile()
        {
            Read();
            if (_reader.TokenType != JsonTokenType.StartObject)
            {
                throw Error(_reader.TokenStartIndex, "the file must hold one JSON object: { \"clients\": [ ... ] }");
            }

            var rootStart = _reader.TokenStartIndex;
            List<ClientDefinition>? clients = null;
            var layout = default(ClientsFileLayout);
            while (Read() is not JsonTokenType.EndObject)
            {
                if (!_reader.ValueTextEquals("clients"u8))
                {
                    throw Error(_reader.TokenStartIndex, $"unknown property {Quote(_reader.GetString())} (the file holds only \"clients\")");
                }

                if (clients is not null)
                {
                    throw Error(_reader.TokenStartIndex, "\"clients\" appears twice");
                }

                (clients, layout) = ParseClients();
            }

            if (clients is null)
            {
                throw Error(rootStart, "the object has no \"clients\" array");
            }

            ReadToEnd();
            return (clients, layout);
        }

        private (List<ClientDefinition>, ClientsFileLayout) ParseClients()
        {
            if (Read() is not JsonTokenType.StartArray)
            {
                throw Error(_reader.TokenStartIndex, "\"clients\" must be an array of objects");
            }

            var clients = new List<ClientDefinition>();
            int lastStart = -1, lastEnd = -1;
            while (Read() is not JsonTokenType.EndArray)
            {
                if (_reader.TokenType is not JsonTokenType.StartObject)
                {
                    throw Error(_reader.TokenStartIndex, $"clients[{clients.Count}] must be an object");
                }

                lastStart = (int)_reader.TokenStartIndex;
                clients.Add(ParseClient(clients));
                lastEnd = (int)_reader.BytesConsumed;
            }

            return (clients, new ClientsFileLayout((int)_reader.TokenStartIndex, lastStart, lastEnd));
        }

        private ClientDefinition ParseClient(List<ClientDefinition> previous)
        {
            var index = previous.Count;
            var objectStart = _reader.TokenStartIndex;
            Field seen = 0;
            string? name = null;
            byte[]? digest = null;
            List<string>? models = null;
            int? maxConcurrent = null, requestsPerMinute = null;
            var manage = false;

            while (Read() is not JsonTokenType.EndObject)
            {
                var field = FieldOf(index);
                var label = $"clients[{index}].{_reader.GetString()}";
                if ((seen & field) != 0)
                {
                    throw Error(_reader.TokenStartIndex, $"{label} appears twice");
                }

                seen |= field;
                Read();
                var valueStart = _reader.TokenStartIndex;
                switch (field)
                {
                    case Field.Name:
                        name = _reader.TokenType is JsonTokenType.String ? _reader.GetString() : null;
                        if (!ClientDefinition.IsValidName(name))
                        {
                            throw Error(valueStart, $"{label} must be 1 to {ClientDefinition.MaxNameLength} letters, digits, '-', '_' or '.'");
                        }

                        foreach (var other in previous)
                        {
                            if (string.Equals(other.Name, name, StringComparison.OrdinalIgnoreCase))
                            {
                                throw Error(valueStart, $"{label} \"{name}\" is already the name of the client on line {other.Line}");
                            }
                        }

                        break;

                    case Field.TokenSha256:
                        digest = _reader.TokenType is JsonTokenType.String ? ParseDigest(_reader.GetString()!) : null;
                        if (digest is null)
                        {
                            throw Error(valueStart, $"{label} must be 64 lowercase hex digits: the SHA-256 of the client's token");
                        }

                        foreach (var other in previous)
                        {
                            if (other.TokenSha256.SequenceEqual(digest))
                            {
                                throw Error(valueStart, $"{label} is the same as that of the client on line {other.Line}: each client needs its own token");
                            }
                        }

                        break;

                    case Field.Models:
                        models = ParseModels(label);
                        break;

                    case Field.MaxConcurrent:
                        maxConcurrent = PositiveInteger(label);
                        break;

                    case Field.RequestsPerMinute:
                        requestsPerMinute = PositiveInteger(label);
                        break;

                    case Field.Manage:
                        manage = _reader.TokenType switch
                        {
                            JsonTokenType.True => true,
                            JsonTokenType.False => false,
                            _ => throw Error(valueStart, $"{label} must be true or false"),
                        };
                        break;
                }
            }

            if (name is null)
            {
                throw Error(objectStart, $"clients[{index}] has no \"name\"");
            }

            if (digest is null)
            {
                throw Error(objectStart, $"clients[{index}] (\"{name}\") has no \"token_sha256\"");
            }

            if (models is not null && !ModelAllowList.TryCreate(models, out _, out var patternError))
            {
                throw Error(objectStart, $"clients[{index}] (\"{name}\") has a model pattern that is not valid: {patternError}");
            }

            return new ClientDefinition(name, digest, models, maxConcurrent, requestsPerMinute, manage, LineOf(objectStart));
        }

        private Field FieldOf(int index)
        {
            if (_reader.ValueTextEquals("name"u8))
            {
                return Field.Name;
            }

            if (_reader.ValueTextEquals("token_sha256"u8))
            {
                return Field.TokenSha256;
            }

            if (_reader.ValueTextEquals("models"u8))
            {
                return Field.Models;
            }

            if (_reader.ValueTextEquals("max_concurrent"u8))
            {
                return Field.MaxConcurrent;
            }

            if (_reader.ValueTextEquals("requests_per_minute"u8))
            {
                return Field.RequestsPerMinute;
            }

            if (_reader.ValueTextEquals("manage"u8))
            {
                return Field.Manage;
            }

            throw Error(_reader.TokenStartIndex, $"clients[{index}] has an unknown property {Quote(_reader.GetString())} (known: {KnownFields})");
        }

        private List<string> ParseModels(string label)
        {
            if (_reader.TokenType is not JsonTokenType.StartArray)
            {
                throw Error(_reader.TokenStartIndex, $"{label} must be an array of model names (leave it out for every model)");
            }

            var models = new List<string>();
            while (Read() is not JsonTokenType.EndArray)
            {
                var model = _reader.TokenType is JsonTokenType.String ? _reader.GetString() : null;
                if (string.IsNullOrEmpty(model))
                {
                    throw Error(_reader.TokenStartIndex, $"{label}[{models.Count}] must be a model name or a * pattern (a non-empty string)");
                }

                models.Add(model);
            }

            return models;
        }

        private int PositiveInteger(string label) =>
            _reader.TokenType is JsonTokenType.Number && _reader.TryGetInt32(out var value) && value >= 1
                ? value
                : throw Error(_reader.TokenStartIndex, $"{label} must be a whole number from 1 to {int.MaxValue}");

        private JsonTokenType Read()
        {
            try
            {
                // With the whole file in one span the reader throws on incomplete JSON rather than return false.
                return _reader.Read() ? _reader.TokenType : throw Error(_json.Length, "the JSON ends early");
            }
            catch (JsonException e)
            {
                throw InvalidJson(e);
            }
        }

        // Anything but comments and white space after the object is an error: the reader throws.
        private void ReadToEnd()
        {
            try
            {
                var more = _reader.Read();
                System.Diagnostics.Debug.Assert(!more, "the reader allows a single JSON value");
            }
            catch (JsonException e)
            {
                throw InvalidJson(e);
            }
        }

        private static byte[]? ParseDigest(string text)
        {
            if (text.Length != 64)
            {
                return null;
            }

            foreach (var c in text)
            {
                if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
                {
                    return null;
                }
            }

            return Convert.FromHexString(text);
        }

        // The reader's message ends with its own 0-based position, which the line and byte given here replace.
        private ClientsFileException InvalidJson(JsonException e)
        {
            var message = e.Message;
            var position = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            var reason = (position < 0 ? message : message[..position]).TrimEnd('.', ' ');
            var column = e.BytePositionInLine is { } byteInLine ? $" (byte {byteInLine + 1} of the line)" : "";
            return new ClientsFileException(_path, (int)(e.LineNumber ?? 0) + 1, $"not valid JSON: {reason}{column}");
        }

        // A property name is quoted only when it looks like one; anything else may be a pasted secret.
        private static string Quote(string? name) =>
            name is { Length: <= 32 } && ClientDefinition.IsValidName(name) ? $"\"{name}\"" : "(a name that is not shown)";

        private ClientsFileException Error(long offset, string why) => new(_path, LineOf(offset), why);

        private int LineOf(long offset) =>
            _json[..(int)Math.Min(offset, _json.Length)].Count((byte)'\n') + 1;
    }
}
