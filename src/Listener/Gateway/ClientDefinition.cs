using System.Security.Cryptography;
using System.Text;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// One named client of the proxy: the SHA-256 of its token, the models it may use and its limits. Immutable.
/// Its name goes into log lines and metrics labels, so it is a safe label; its digest goes nowhere but the
/// <see cref="ClientRegistry"/> (<see cref="ToString"/> gives the name only).
/// </summary>
public sealed class ClientDefinition
{
    /// <summary>The longest name a client may have.</summary>
    public const int MaxNameLength = 64;

    /// <summary>The name of the client that <c>PROXY_AUTH_TOKEN</c> defines.</summary>
    public const string DefaultName = "default";

    private readonly byte[] _tokenSha256;

    public ClientDefinition(
        string name,
        ReadOnlySpan<byte> tokenSha256,
        IReadOnlyList<string>? models = null,
        int? maxConcurrent = null,
        int? requestsPerMinute = null,
        bool manage = false,
        int line = 0)
    {
        if (!IsValidName(name))
        {
            throw new ArgumentException($"a client name is 1 to {MaxNameLength} letters, digits, '-', '_' or '.'", nameof(name));
        }

        if (tokenSha256.Length != SHA256.HashSizeInBytes)
        {
            throw new ArgumentException($"a token digest is {SHA256.HashSizeInBytes} bytes", nameof(tokenSha256));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrent ?? 1, 1, nameof(maxConcurrent));
        ArgumentOutOfRangeException.ThrowIfLessThan(requestsPerMinute ?? 1, 1, nameof(requestsPerMinute));

        Name = name;
        _tokenSha256 = tokenSha256.ToArray();
        Models = models is null ? null : Array.AsReadOnly(models.ToArray());
        AllowList = models is null ? ModelAllowList.Everything
            : ModelAllowList.TryCreate(models, out var list, out var error) ? list
            : throw new ArgumentException(error, nameof(models));
        MaxConcurrent = maxConcurrent;
        RequestsPerMinute = requestsPerMinute;
        Manage = manage;
        Line = line;
    }

    /// <summary>A safe label: letters, digits, <c>-</c>, <c>_</c> and <c>.</c>.</summary>
    public string Name { get; }

    /// <summary>The SHA-256 of the client's token (32 bytes).</summary>
    public ReadOnlySpan<byte> TokenSha256 => _tokenSha256;

    /// <summary>Exact model names or <c>*</c> globs, as written; <c>null</c> allows every model, an empty list none.</summary>
    public IReadOnlyList<string>? Models { get; }

    public bool AllowsEveryModel => Models is null;

    /// <summary><see cref="Models"/> as patterns to match request bodies and model lists against.</summary>
    public ModelAllowList AllowList { get; }

    /// <summary>The most requests this client may have in flight at once; <c>null</c> for no limit.</summary>
    public int? MaxConcurrent { get; }

    /// <summary>The most requests this client may start in a minute; <c>null</c> for no limit.</summary>
    public int? RequestsPerMinute { get; }

    /// <summary>Whether the client may use the routes that change models (pull, push, create, copy, delete, blobs).</summary>
    public bool Manage { get; }

    /// <summary>The 1-based line of the client's entry in the clients file; 0 when it does not come from the file.</summary>
    public int Line { get; }

    /// <summary>The client that <c>PROXY_AUTH_TOKEN</c> defines: every model, no limits, and manage.</summary>
    public static ClientDefinition ForAuthToken(string token) =>
        new(DefaultName, SHA256.HashData(Encoding.ASCII.GetBytes(token)), manage: true);

    /// <summary>Whether <paramref name="name"/> is 1 to <see cref="MaxNameLength"/> ASCII letters, digits, <c>-</c>, <c>_</c> or <c>.</c>.</summary>
    public static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxNameLength)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    public override string ToString() => Name;
}
