namespace OllamaSocketProxy.Http1;

/// <summary>The methods the proxy treats specially; any other token is <see cref="Other"/> and is forwarded as sent.</summary>
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

internal static class RequestMethods
{
    /// <summary>Methods are case-sensitive (RFC 9110 §9.1): <c>get</c> is another method than <c>GET</c>.</summary>
    public static RequestMethod Lookup(ReadOnlySpan<byte> method) => method switch
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
}
