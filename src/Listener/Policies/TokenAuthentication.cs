using System.Security.Cryptography;
using System.Text;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// The first stage of the pipeline: finds who sent a request from its token (docs/BEHAVIOUR.md#authentication):
/// exactly one <c>Authorization: Bearer &lt;token&gt;</c> (scheme case-insensitive, RFC 9110 §11.1), or one
/// <c>x-api-key: &lt;token&gt;</c>. Compares SHA-256 digests with <see cref="CryptographicOperations.FixedTimeEquals"/>,
/// so the time taken says nothing about the token or its length.
/// </summary>
internal sealed class TokenAuthentication
{
    private readonly byte[]? _tokenDigest;

    public TokenAuthentication(string? token)
    {
        _tokenDigest = token is null ? null : SHA256.HashData(Encoding.ASCII.GetBytes(token));
    }

    /// <summary>The client that sent <paramref name="head"/>, or null when its token is missing or wrong (401).</summary>
    public ClientIdentity? Authenticate(RequestHead head)
    {
        if (_tokenDigest is null)
        {
            return ClientIdentity.Default;
        }

        if (head.AuthorizationCount > 1 || head.ApiKeyCount > 1)
        {
            return null;
        }

        var authorized = false;
        if (head.AuthorizationCount == 1)
        {
            var value = head.Authorization;
            authorized = value.Length > 7 && Ascii.EqualsIgnoreCase(value[..7], "Bearer "u8) && Matches(value[7..]);
        }

        return authorized || (head.ApiKeyCount == 1 && Matches(head.ApiKey)) ? ClientIdentity.Default : null;
    }

    private bool Matches(ReadOnlySpan<byte> presented)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(presented, digest);
        return CryptographicOperations.FixedTimeEquals(digest, _tokenDigest);
    }
}
