using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// <c>OllamaSocketProxy clients add|list</c>: creates a client with a new random token, or lists the clients, in the
/// clients file (<c>--file</c>, else <c>PROXY_CLIENTS_FILE</c>). Exit codes: 0 done, 1 failed (one line on the error
/// writer), 2 wrong arguments (with the usage).
/// </summary>
internal static class ClientsCommand
{
    public const int Succeeded = 0;
    public const int Failed = 1;
    public const int WrongUsage = 2;

    /// <summary>Marks the proxy's tokens, so that one found in a log or a repository is recognized for what it is.</summary>
    public const string TokenPrefix = "osp_";

    private const string Usage = """
        usage: OllamaSocketProxy clients add NAME [--models a,b] [--max-concurrent N] [--requests-per-minute N] [--manage] [--file PATH]
               OllamaSocketProxy clients list [--file PATH]
        The clients file is PATH, else PROXY_CLIENTS_FILE. add creates the file when it is missing, and prints the
        client's new token once: the file keeps only its SHA-256.
        """;

    /// <summary>Runs the command in <paramref name="args"/> (the arguments after <c>clients</c>).</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error, IReadOnlyDictionary<string, string?> environment)
    {
        if (args.Count == 1 && args[0] is "-h" or "--help" or "help")
        {
            output.WriteLine(Usage);
            return Succeeded;
        }

        Arguments arguments;
        try
        {
            arguments = Arguments.Parse(args);
        }
        catch (CommandUsageException e)
        {
            error.WriteLine($"OllamaSocketProxy clients: {e.Message}");
            error.WriteLine(Usage);
            return WrongUsage;
        }

        var path = arguments.File ?? Variable(environment, "PROXY_CLIENTS_FILE");
        if (path is null)
        {
            error.WriteLine("OllamaSocketProxy clients: no clients file: pass --file PATH or set PROXY_CLIENTS_FILE");
            return Failed;
        }

        try
        {
            return arguments.Command == "add"
                ? Add(arguments, path, Variable(environment, "PROXY_AUTH_TOKEN"), output)
                : List(path, Variable(environment, "PROXY_AUTH_TOKEN"), output);
        }
        catch (ClientsFileException e)
        {
            error.WriteLine($"OllamaSocketProxy clients: {e.Message}");
        }
        catch (CommandException e)
        {
            error.WriteLine($"OllamaSocketProxy clients: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"OllamaSocketProxy clients: {path} cannot be written: {e.Message}");
        }

        return Failed;
    }

    private static int Add(Arguments arguments, string path, string? authToken, TextWriter output)
    {
        var name = arguments.Name!;
        if (string.Equals(name, ClientDefinition.DefaultName, StringComparison.OrdinalIgnoreCase))
        {
            throw new CommandException($"the name \"{name}\" is kept for the client of PROXY_AUTH_TOKEN; choose another");
        }

        byte[]? original = null;
        try
        {
            original = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            // A new file, written below.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ClientsFileException(path, 0, $"cannot be read: {e.Message}");
        }

        var file = original is null || IsWhiteSpace(original) ? null : ClientsFile.Parse(original, path);
        var existing = file?.Clients ?? [];
        foreach (var client in existing)
        {
            if (string.Equals(client.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                throw new CommandException($"{path}: line {client.Line}: a client named \"{client.Name}\" is already there; the file was not changed");
            }
        }

        var token = NewToken();
        var digest = SHA256.HashData(Encoding.ASCII.GetBytes(token));
        var entry = Entry(name, digest, arguments);
        var edited = file is null ? ClientsFileEditor.NewFile(entry) : ClientsFileEditor.AddEntry(original!, file.Layout, entry);

        // The edit is text: parse the result, and write it only if it holds exactly the old clients and the new one.
        ClientsFile check;
        try
        {
            check = ClientsFile.Parse(edited, path);
            ClientRegistry.Create(check.Clients, authToken, path);
        }
        catch (ClientsFileException e)
        {
            throw new CommandException($"{path} would not be valid with the new client, so it was not changed: {e.Reason}");
        }

        var added = check.Clients.Count == existing.Count + 1 ? check.Clients[^1] : null;
        if (added is null || added.Name != name || !added.TokenSha256.SequenceEqual(digest))
        {
            throw new CommandException($"{path} would not hold the new client as its last entry, so it was not changed");
        }

        ClientsFileEditor.WriteAtomically(path, edited);

        output.WriteLine($"Added client \"{name}\" to {path} ({Settings(added)}).");
        output.WriteLine("Its token follows. It is shown only once: the file keeps only its SHA-256.");
        output.WriteLine(token);
        return Succeeded;
    }

    private static int List(string path, string? authToken, TextWriter output)
    {
        var registry = ClientRegistry.Load(path, authToken);
        if (registry.Count == 0)
        {
            output.WriteLine($"{path} defines no client: the proxy admits nobody.");
            return Succeeded;
        }

        var width = 0;
        foreach (var client in registry.Clients)
        {
            width = Math.Max(width, client.Name.Length);
        }

        foreach (var client in registry.Clients)
        {
            var origin = client.Line == 0 ? "  (PROXY_AUTH_TOKEN)" : "";
            output.WriteLine($"{client.Name.PadRight(width)}  {Settings(client)}{origin}");
        }

        return Succeeded;
    }

    /// <summary>A new token: 256 random bits, base64url, after <see cref="TokenPrefix"/>. Visible ASCII only.</summary>
    internal static string NewToken() => TokenPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static string Settings(ClientDefinition client)
    {
        var settings = new StringBuilder();
        settings.Append(client.Models is null ? "models=*" : client.Models.Count == 0 ? "models=(none)" : $"models={string.Join(',', client.Models)}");
        if (client.MaxConcurrent is { } maxConcurrent)
        {
            settings.Append(CultureInfo.InvariantCulture, $" max_concurrent={maxConcurrent}");
        }

        if (client.RequestsPerMinute is { } requestsPerMinute)
        {
            settings.Append(CultureInfo.InvariantCulture, $" requests_per_minute={requestsPerMinute}");
        }

        settings.Append(client.Manage ? " manage=true" : " manage=false");
        return settings.ToString();
    }

    /// <summary>The entry for the file, on one line, in the style of the README's example.</summary>
    private static string Entry(string name, byte[] digest, Arguments arguments)
    {
        var entry = new StringBuilder();
        entry.Append(CultureInfo.InvariantCulture, $"{{ \"name\": \"{name}\", \"token_sha256\": \"{Convert.ToHexStringLower(digest)}\"");
        if (arguments.Models is { } models)
        {
            entry.Append(", \"models\": [");
            for (var i = 0; i < models.Count; i++)
            {
                entry.Append(i == 0 ? "\"" : ", \"")
                     .Append(JsonEncodedText.Encode(models[i], JavaScriptEncoder.UnsafeRelaxedJsonEscaping).Value)
                     .Append('"');
            }

            entry.Append(']');
        }

        if (arguments.MaxConcurrent is { } maxConcurrent)
        {
            entry.Append(CultureInfo.InvariantCulture, $", \"max_concurrent\": {maxConcurrent}");
        }

        if (arguments.RequestsPerMinute is { } requestsPerMinute)
        {
            entry.Append(CultureInfo.InvariantCulture, $", \"requests_per_minute\": {requestsPerMinute}");
        }

        if (arguments.Manage)
        {
            entry.Append(", \"manage\": true");
        }

        return entry.Append(" }").ToString();
    }

    private static bool IsWhiteSpace(ReadOnlySpan<byte> text) => text.IndexOfAnyExcept(" \t\r\n"u8) < 0;

    private static string? Variable(IReadOnlyDictionary<string, string?> environment, string name) =>
        environment.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private sealed class Arguments
    {
        public required string Command { get; init; }
        public string? Name { get; private set; }
        public string? File { get; private set; }
        public IReadOnlyList<string>? Models { get; private set; }
        public int? MaxConcurrent { get; private set; }
        public int? RequestsPerMinute { get; private set; }
        public bool Manage { get; private set; }

        public static Arguments Parse(IReadOnlyList<string> args)
        {
            if (args.Count == 0 || args[0] is not ("add" or "list"))
            {
                throw new CommandUsageException(args.Count == 0 ? "which command: add or list?" : $"unknown command \"{args[0]}\"");
            }

            var arguments = new Arguments { Command = args[0] };
            var reader = new CommandArguments(args, start: 1);
            while (reader.MoveNext())
            {
                var arg = reader.Current;
                var option = reader.Option;

                switch (option)
                {
                    case "--file":
                        arguments.File = reader.Value();
                        break;
                    case "--models" when arguments.Command == "add":
                        arguments.Models = ModelList(reader.Value());
                        break;
                    case "--max-concurrent" when arguments.Command == "add":
                        arguments.MaxConcurrent = PositiveInteger(option, reader.Value());
                        break;
                    case "--requests-per-minute" when arguments.Command == "add":
                        arguments.RequestsPerMinute = PositiveInteger(option, reader.Value());
                        break;
                    case "--manage" when arguments.Command == "add" && !reader.HasInlineValue:
                        arguments.Manage = true;
                        break;
                    default:
                        if (arguments.Command == "add" && arguments.Name is null && !arg.StartsWith('-'))
                        {
                            arguments.Name = arg;
                            break;
                        }

                        throw new CommandUsageException(arg.StartsWith('-') ? $"unknown option {option} for {arguments.Command}" : "unexpected argument");
                }
            }

            if (arguments.Command == "add" && arguments.Name is null)
            {
                throw new CommandUsageException("add needs the client's NAME");
            }

            if (arguments.Name is not null && !ClientDefinition.IsValidName(arguments.Name))
            {
                throw new CommandUsageException($"NAME must be 1 to {ClientDefinition.MaxNameLength} letters, digits, '-', '_' or '.'");
            }

            if (arguments.File is { Length: 0 })
            {
                throw new CommandUsageException("--file needs a path");
            }

            return arguments;
        }

        private static string[] ModelList(string value)
        {
            var models = value.Split(',', StringSplitOptions.TrimEntries);
            foreach (var model in models)
            {
                if (model.Length == 0)
                {
                    throw new CommandUsageException("--models takes model names or * patterns separated by commas, none empty");
                }
            }

            return models;
        }

        private static int PositiveInteger(string option, string value) =>
            int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= 1
                ? number
                : throw new CommandUsageException($"{option} takes a whole number from 1 to {int.MaxValue}");
    }


    private sealed class CommandException(string message) : Exception(message);
}
