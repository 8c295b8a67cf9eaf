namespace OllamaSocketProxy.Http1;

/// <summary>
/// Fields that describe one connection, not the message, and so are never passed on as received
/// (RFC 9110 §7.6.1). Used for both directions; fields named by Connection are removed as well.
/// </summary>
public static class HopByHop
{
    public static bool Contains(KnownField field) => field switch
    {
        KnownField.Connection => true,         // RFC 9110 §7.6.1: options for this connection only
        KnownField.KeepAlive => true,          // RFC 2068 §19.7.1: parameters of this connection's persistence
        KnownField.ProxyConnection => true,    // non-standard, but still sent by libcurl and old browsers
        KnownField.TE => true,                 // RFC 9110 §10.1.4: what the sender accepts on this connection
        KnownField.Trailer => true,            // RFC 9110 §6.6.2: describes this hop's chunked trailer section
        KnownField.Upgrade => true,            // RFC 9110 §7.8: protocol switch of this connection; never relayed
        KnownField.ProxyAuthorization => true, // RFC 9110 §11.7.2: credentials for this proxy, not the origin
        KnownField.TransferEncoding => true,   // RFC 9112 §6.1: framing of this hop; the proxy writes its own
        _ => false,
    };
}
