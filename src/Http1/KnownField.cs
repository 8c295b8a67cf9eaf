using System.Text;

namespace OllamaSocketProxy.Http1;

/// <summary>The header fields the proxy reads or rewrites; every other field is <see cref="Other"/> and passes unchanged.</summary>
public enum KnownField : byte
{
    Other,
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    KeepAlive,
    ProxyConnection,
    TE,
    Trailer,
    Upgrade,
    Authorization,
    ProxyAuthorization,
    XApiKey,
    Expect,

    // End-to-end fields the proxy reads but passes on like any other (also removed when Connection names them).
    ContentType,
    Date,
    AcceptEncoding,
    Origin,
    AccessControlRequestMethod,
    AccessControlRequestHeaders,

    /// <summary>
    /// Any other <c>Access-Control-*</c> field (<c>-Allow-Origin</c>, <c>-Allow-Credentials</c>, ...): the CORS fields of a
    /// response. A request that carries one passes it on like any other.
    /// </summary>
    AccessControl,
}

internal static class KnownFields
{
    /// <summary>Case-insensitive lookup of a field name (RFC 9110 §5.1), without a string per name.</summary>
    public static KnownField Lookup(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when Ascii.EqualsIgnoreCase(name, "te"u8) => KnownField.TE,
        4 when Ascii.EqualsIgnoreCase(name, "host"u8) => KnownField.Host,
        4 when Ascii.EqualsIgnoreCase(name, "date"u8) => KnownField.Date,
        6 when Ascii.EqualsIgnoreCase(name, "origin"u8) => KnownField.Origin,
        15 when Ascii.EqualsIgnoreCase(name, "accept-encoding"u8) => KnownField.AcceptEncoding,
        29 when Ascii.EqualsIgnoreCase(name, "access-control-request-method"u8) => KnownField.AccessControlRequestMethod,
        30 when Ascii.EqualsIgnoreCase(name, "access-control-request-headers"u8) => KnownField.AccessControlRequestHeaders,
        6 when Ascii.EqualsIgnoreCase(name, "expect"u8) => KnownField.Expect,
        7 when Ascii.EqualsIgnoreCase(name, "trailer"u8) => KnownField.Trailer,
        7 when Ascii.EqualsIgnoreCase(name, "upgrade"u8) => KnownField.Upgrade,
        9 when Ascii.EqualsIgnoreCase(name, "x-api-key"u8) => KnownField.XApiKey,
        10 when Ascii.EqualsIgnoreCase(name, "connection"u8) => KnownField.Connection,
        10 when Ascii.EqualsIgnoreCase(name, "keep-alive"u8) => KnownField.KeepAlive,
        12 when Ascii.EqualsIgnoreCase(name, "content-type"u8) => KnownField.ContentType,
        13 when Ascii.EqualsIgnoreCase(name, "authorization"u8) => KnownField.Authorization,
        14 when Ascii.EqualsIgnoreCase(name, "content-length"u8) => KnownField.ContentLength,
        16 when Ascii.EqualsIgnoreCase(name, "proxy-connection"u8) => KnownField.ProxyConnection,
        17 when Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8) => KnownField.TransferEncoding,
        19 when Ascii.EqualsIgnoreCase(name, "proxy-authorization"u8) => KnownField.ProxyAuthorization,
        > 15 when Ascii.EqualsIgnoreCase(name[..15], "access-control-"u8) => KnownField.AccessControl,
        _ => KnownField.Other,
    };
}
