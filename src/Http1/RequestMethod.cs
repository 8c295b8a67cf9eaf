namespace OllamaSocketProxy.Http1;

/// <summary>The methods the proxy knows; any other token is <see cref="Other"/>, which the proxy does not serve.</summary>
public enum RequestMethod : byte
{
    Other,
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Patch,
    Connect,
    Trace,
}

/// <summary>Which methods the proxy serves, and how it refuses the others.</summary>
public static class RequestMethods
{
    /// <summary>
    /// The longest method in the IANA HTTP Method Registry, <c>UPDATEREDIRECTREF</c> (RFC 4437): a longer token is not
    /// a method anyone implements, so the request line is refused before it is complete (<see cref="RequestRejection.MethodTooLong"/>).
    /// </summary>
    public const int MaxLength = 17;

    /// <summary>
    /// The Allow field line of 405, 501 and OPTIONS answers (RFC 9110 §10.2.1): the methods forwarded upstream, and
    /// OPTIONS, which the proxy answers itself.
    /// </summary>
    public static ReadOnlySpan<byte> AllowField => "Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n"u8;

    /// <summary>Methods are case-sensitive (RFC 9110 §9.1): <c>get</c> is another method than <c>GET</c>.</summary>
    internal static RequestMethod Lookup(ReadOnlySpan<byte> method) => method switch
    {
        _ when method.SequenceEqual("GET"u8) => RequestMethod.Get,
        _ when method.SequenceEqual("POST"u8) => RequestMethod.Post,
        _ when method.SequenceEqual("HEAD"u8) => RequestMethod.Head,
        _ when method.SequenceEqual("PUT"u8) => RequestMethod.Put,
        _ when method.SequenceEqual("DELETE"u8) => RequestMethod.Delete,
        _ when method.SequenceEqual("OPTIONS"u8) => RequestMethod.Options,
        _ when method.SequenceEqual("PATCH"u8) => RequestMethod.Patch,
        _ when method.SequenceEqual("CONNECT"u8) => RequestMethod.Connect,
        _ when method.SequenceEqual("TRACE"u8) => RequestMethod.Trace,
        _ => RequestMethod.Other,
    };

    /// <summary>
    /// Refuses a method the proxy never serves, before its target is looked at (CONNECT's is not a path). CONNECT would
    /// open a tunnel anywhere and a TRACE echo would show the injected key: known and refused, 405 (RFC 9110 §15.5.6).
    /// Any other method is not implemented here, 501 (RFC 9110 §15.6.2): the upstream's API uses none.
    /// </summary>
    public static void ThrowIfNotServed(RequestMethod method)
    {
        switch (method)
        {
            case RequestMethod.Connect or RequestMethod.Trace:
                RequestRejections.Throw(RequestRejection.MethodNotAllowed);
                break;
            case RequestMethod.Other:
                RequestRejections.Throw(RequestRejection.MethodNotImplemented);
                break;
        }
    }
}
