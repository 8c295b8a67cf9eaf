using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener.Admin;

/// <summary>
/// Who may read what on the admin listener (README.md#usage-and-metrics). With <c>PROXY_ADMIN_TOKEN</c> set,
/// <c>/usage</c>, <c>/status</c> and the dashboard need it everywhere; the probes (<see cref="AdminEndpoints.IsProbe"/>)
/// need it only off loopback, and not even there with <c>PROXY_ADMIN_METRICS_OPEN</c>. Without a token (which the
/// proxy allows on loopback only, <see cref="ProxyOptions.FromEnvironment"/>) everything is open.
/// </summary>
/// <remarks>
/// The token comes in one <c>Authorization</c> field, in either scheme (case-insensitive, RFC 9110 §11.1):
/// <c>Bearer &lt;token&gt;</c> for tools (curl, Prometheus' <c>authorization</c> block), or <c>Basic</c> with any
/// user name and the token as password (RFC 7617 §2), which a browser asks for once and then sends with the page's own
/// requests. It is compared by SHA-256 digest in constant time, as the API port compares client tokens: neither its
/// bytes nor its length show in the time an answer takes.
/// </remarks>
internal sealed class AdminAccess
{
    /// <summary>Longest Basic credentials decoded on the stack; longer ones are decoded into a pooled array.</summary>
    private const int StackDecodeLimit = 512;

    private readonly byte[]? _tokenSha256;
    private readonly bool _probesOpen;
    private readonly bool _onLoopback;

    /// <param name="token"><c>PROXY_ADMIN_TOKEN</c>, or null for none.</param>
    /// <param name="onLoopback">The admin listener's address is a loopback address.</param>
    /// <param name="metricsOpen"><c>PROXY_ADMIN_METRICS_OPEN</c>.</param>
    public AdminAccess(string? token, bool onLoopback, bool metricsOpen)
    {
        _tokenSha256 = token is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));
        _probesOpen = onLoopback || metricsOpen;
        _onLoopback = onLoopback;
    }

    /// <summary>
    /// Whether the request names this machine: on a loopback listener, <c>Host</c> must be <c>localhost</c> or a loopback
    /// address (with any port). A web page the operator opens could otherwise point a name of its own at 127.0.0.1
    /// (DNS rebinding) and read, as its own origin, what the listener shows to this machine without a token. Off
    /// loopback the token guards what matters and any name may lead there.
    /// </summary>
    public bool AllowsHost(RequestHead head)
    {
        if (!_onLoopback)
        {
            return true;
        }

        foreach (var field in head.Fields)
        {
            if (field.Known == KnownField.Host)
            {
                return IsLoopbackHost(field.Value(head.Bytes));
            }
        }

        return false;
    }

    /// <summary><c>uri-host [ ":" port ]</c> (RFC 9110 §7.2) whose host is <c>localhost</c> or a loopback IP literal.</summary>
    internal static bool IsLoopbackHost(ReadOnlySpan<byte> host)
    {
        if (host.StartsWith("["u8))
        {
            var close = host.IndexOf((byte)']');
            return close > 0 && (close == host.Length - 1 || host[close + 1] == ':')
                && System.Net.IPAddress.TryParse(Encoding.ASCII.GetString(host[1..close]), out var v6) && System.Net.IPAddress.IsLoopback(v6);
        }

        var colon = host.IndexOf((byte)':');
        var name = colon < 0 ? host : host[..colon];
        if (Ascii.EqualsIgnoreCase(name, "localhost"u8))
        {
            return true;
        }

        return name.Length is > 0 and <= 15 && name.IndexOfAnyExcept("0123456789."u8) < 0
            && System.Net.IPAddress.TryParse(Encoding.ASCII.GetString(name), out var v4) && System.Net.IPAddress.IsLoopback(v4);
    }

    /// <summary>Whether a request for <paramref name="endpoint"/> must carry the token.</summary>
    public bool NeedsToken(AdminEndpoint endpoint) => _tokenSha256 is not null && !(_probesOpen && AdminEndpoints.IsProbe(endpoint));

    /// <summary>Whether <paramref name="head"/> may have <paramref name="endpoint"/>: it needs no token, or carries it in exactly one field.</summary>
    public bool Allows(AdminEndpoint endpoint, RequestHead head) =>
        !NeedsToken(endpoint) || (head.AuthorizationCount == 1 && Presents(head.Authorization));

    /// <summary>Whether an <c>Authorization</c> field value carries the token, as Bearer or as Basic's password.</summary>
    internal bool Presents(ReadOnlySpan<byte> authorization)
    {
        if (_tokenSha256 is null)
        {
            return false;
        }

        if (TryCredentials(authorization, "Bearer"u8, out var bearer))
        {
            return Matches(bearer);
        }

        if (!TryCredentials(authorization, "Basic"u8, out var basic))
        {
            return false;
        }

        var maxLength = Base64.GetMaxDecodedFromUtf8Length(basic.Length);
        byte[]? rented = null;
        var decoded = maxLength <= StackDecodeLimit ? stackalloc byte[StackDecodeLimit] : (rented = ArrayPool<byte>.Shared.Rent(maxLength));
        try
        {
            if (Base64.DecodeFromUtf8(basic, decoded, out _, out var written) != OperationStatus.Done)
            {
                return false;
            }

            // user-pass = user-id ":" password; the user-id cannot hold a colon, the password can (RFC 7617 §2).
            var pair = decoded[..written];
            var colon = pair.IndexOf((byte)':');
            return colon >= 0 && Matches(pair[(colon + 1)..]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(decoded);
            if (rented is not null)
            {
                CryptographicOperations.ZeroMemory(rented);
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary><c>scheme 1*SP credentials</c> (RFC 9110 §11.4), the scheme in any case.</summary>
    private static bool TryCredentials(ReadOnlySpan<byte> value, ReadOnlySpan<byte> scheme, out ReadOnlySpan<byte> credentials)
    {
        credentials = default;
        if (value.Length <= scheme.Length || value[scheme.Length] != ' ' || !Ascii.EqualsIgnoreCase(value[..scheme.Length], scheme))
        {
            return false;
        }

        credentials = value[scheme.Length..].TrimStart((byte)' ');
        return !credentials.IsEmpty;
    }

    private bool Matches(ReadOnlySpan<byte> presented)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(presented, digest);
        return CryptographicOperations.FixedTimeEquals(digest, _tokenSha256);
    }
}
