using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// The clients the proxy knows, immutable: those of the clients file, plus <c>default</c> when
/// <c>PROXY_AUTH_TOKEN</c> is set. <see cref="Authenticate"/> finds the client a token belongs to in a time that
/// depends only on how many clients there are, not on the token or on which client (if any) it matches.
/// </summary>
public sealed class ClientRegistry
{
    private readonly ClientDefinition[] _clients;

    // Every client's digest, one after another: one contiguous array for the comparison loop.
    private readonly byte[] _digests;

    private ClientRegistry(ClientDefinition[] clients, bool isOpen)
    {
        _clients = clients;
        IsOpen = isOpen;
        _digests = new byte[clients.Length * SHA256.HashSizeInBytes];
        for (var i = 0; i < clients.Length; i++)
        {
            clients[i].TokenSha256.CopyTo(_digests.AsSpan(i * SHA256.HashSizeInBytes));
        }
    }

    /// <summary>The registry with neither a clients file nor <c>PROXY_AUTH_TOKEN</c>: the proxy is open.</summary>
    public static ClientRegistry Open { get; } = new([], isOpen: true);

    /// <summary>
    /// Whether no client is configured (neither a clients file nor <c>PROXY_AUTH_TOKEN</c>), so that every request
    /// passes without a token. A clients file with no client is not open: it admits nobody.
    /// </summary>
    public bool IsOpen { get; }

    /// <summary>Every client, the file's first in file order, then <c>default</c>.</summary>
    public IReadOnlyList<ClientDefinition> Clients => _clients;

    public int Count => _clients.Length;

    /// <summary>
    /// Reads the clients file at <paramref name="clientsFilePath"/> (none when <c>null</c>) and adds the
    /// <c>default</c> client of <paramref name="authToken"/>. Throws <see cref="ClientsFileException"/>.
    /// </summary>
    public static ClientRegistry Load(string? clientsFilePath, string? authToken)
    {
        var file = clientsFilePath is null ? null : ClientsFile.Load(clientsFilePath);
        return Create(file?.Clients, authToken, clientsFilePath);
    }

    /// <summary>
    /// The registry of <paramref name="fileClients"/> (<c>null</c>: no clients file) and the <c>default</c> client of
    /// <paramref name="authToken"/>. Throws <see cref="ClientsFileException"/>, naming <paramref name="path"/> and the
    /// client's line, when two clients share a name or a token, or a file client is named <c>default</c> while
    /// <paramref name="authToken"/> is set.
    /// </summary>
    public static ClientRegistry Create(IReadOnlyList<ClientDefinition>? fileClients, string? authToken, string? path = null)
    {
        if (fileClients is null && authToken is null)
        {
            return Open;
        }

        var clients = new List<ClientDefinition>(fileClients ?? []);
        if (authToken is not null)
        {
            var defaultClient = ClientDefinition.ForAuthToken(authToken);
            foreach (var client in clients)
            {
                if (string.Equals(client.Name, ClientDefinition.DefaultName, StringComparison.OrdinalIgnoreCase))
                {
                    throw new ClientsFileException(path, client.Line, $"the name \"{client.Name}\" is taken by the client of PROXY_AUTH_TOKEN; rename this client");
                }

                if (client.TokenSha256.SequenceEqual(defaultClient.TokenSha256))
                {
                    throw new ClientsFileException(path, client.Line, $"client \"{client.Name}\" has the token of PROXY_AUTH_TOKEN: each client needs its own token");
                }
            }

            clients.Add(defaultClient);
        }

        for (var i = 0; i < clients.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (string.Equals(clients[i].Name, clients[j].Name, StringComparison.OrdinalIgnoreCase))
                {
                    throw new ClientsFileException(path, clients[i].Line, $"the name \"{clients[i].Name}\" is used twice");
                }

                if (clients[i].TokenSha256.SequenceEqual(clients[j].TokenSha256))
                {
                    throw new ClientsFileException(path, clients[i].Line, $"clients \"{clients[j].Name}\" and \"{clients[i].Name}\" have the same token: each client needs its own");
                }
            }
        }

        return new ClientRegistry([.. clients], isOpen: false);
    }

    /// <summary>
    /// The client whose token is <paramref name="presentedToken"/>, or <c>null</c>. The token is hashed once, and its
    /// digest compared with every client's in full, with no early exit and no branch on the bytes, so the time taken does
    /// not say whether or which client matched. Each comparison is one 32-byte vector XOR: the work of
    /// <see cref="CryptographicOperations.FixedTimeEquals"/>, which is kept unoptimized on purpose and costs about a
    /// hundred times more per call, too much for a file of a hundred clients on every request. Allocates nothing.
    /// </summary>
    public ClientDefinition? Authenticate(ReadOnlySpan<byte> presentedToken)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(presentedToken, digest);
        var presented = Vector256.Create<byte>(digest);

        ReadOnlySpan<byte> digests = _digests;
        var found = 0;
        for (var i = 0; i < _clients.Length; i++)
        {
            var difference = presented ^ Vector256.Create<byte>(digests.Slice(i * SHA256.HashSizeInBytes, SHA256.HashSizeInBytes));

            // All 32 bytes equal <=> every byte of the difference is zero <=> all 32 lanes' top bits set.
            var equal = Vector256.Equals(difference, Vector256<byte>.Zero).ExtractMostSignificantBits() == uint.MaxValue;

            // Branch-free select of the 1-based index: -1 (all bits) when equal, 0 when not. Digests are unique
            // (Create checks), so at most one index is ever or-ed in.
            found |= (i + 1) & -Unsafe.BitCast<bool, byte>(equal);
        }

        return found == 0 ? null : _clients[found - 1];
    }
}
