using System.Security.Cryptography;
using System.Text;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// Checks the caller's token (SPEC §4): exactly one <c>Authorization: Bearer &lt;token&gt;</c> (scheme
/// case-insensitive), or one <c>x-api-key: &lt;token&gt;</c>. Compares SHA-256 digests with
/// <see cref="CryptographicOperations.FixedTimeEquals"/>, so the time taken says nothing about the token or its length.
/// </summary>
internal sealed class Authenticator
{
    private readonly byte[]? _tokenDigest;

    public Authenticator(string? token)
    {
        _tokenDigest = token is null ? null : SHA256.HashData(Encoding.ASCII.GetBytes(token));
    }

    public bool IsAuthorized(RequestHead head)
    {
        if (_tokenDigest is null)
        {
            return true;
        }

        if (head.AuthorizationCount > 1 || head.ApiKeyCount > 1)
        {
            return false;
        }

        var authorized = false;
        if (head.AuthorizationCount == 1)
        {
            var value = head.Authorization;

            // RFC 9110 §11.1: the auth-scheme is case-insensitive; one SP separates it from the token.
            authorized = value.Length > 7 && Ascii.EqualsIgnoreCase(value[..7], "Bearer "u8) && Matches(value[7..]);
        }

        return authorized || (head.ApiKeyCount == 1 && Matches(head.ApiKey));
    }

    private bool Matches(ReadOnlySpan<byte> presented)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(presented, digest);
        return CryptographicOperations.FixedTimeEquals(digest, _tokenDigest);
    }
}
