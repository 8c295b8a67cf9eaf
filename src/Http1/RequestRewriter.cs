using System.Buffers;
using System.Text;

namespace OllamaSocketProxy.Http1;

/// <summary>
/// Writes the head the upstream receives (docs/BEHAVIOUR.md#forwarded-request): the mapped request line in
/// HTTP/1.1, the upstream's <c>Host</c>, the real key as <c>Authorization</c>, the client's other fields unchanged
/// and in order without hop-by-hop ones, <c>Via</c>, and the body's framing. Built once; writes allocate nothing.
/// </summary>
public sealed class RequestRewriter(string upstreamAuthority)
{
    private readonly byte[] _hostLine = Encoding.ASCII.GetBytes($"Host: {upstreamAuthority}\r\n");

    /// <summary>The <c>Authorization</c> field line that carries <paramref name="apiKey"/> upstream, built once per key.</summary>
    public static byte[] AuthorizationLine(string apiKey) => Encoding.ASCII.GetBytes($"Authorization: Bearer {apiKey}\r\n");

    /// <summary>RFC 9110 §7.6.3: a proxy MUST send Via; the pseudonym hides the proxy's host name.</summary>
    private static ReadOnlySpan<byte> ViaLine => "Via: 1.1 ollama-socket-proxy\r\n"u8;

    /// <param name="authorizationLine">The key's whole field line (<see cref="AuthorizationLine"/>).</param>
    /// <param name="identityEncoding">
    /// Ask for the answer without a content coding, replacing the client's <c>Accept-Encoding</c>: the proxy must read
    /// an answer it rewrites (RFC 9110 §12.5.3).
    /// </param>
    public void WriteHead(
        IBufferWriter<byte> output, RequestHead head, MappedTarget target, BodyFraming framing, ReadOnlySpan<byte> authorizationLine,
        ReadOnlySpan<byte> forwardedFor, bool identityEncoding = false)
    {
        output.Write(head.MethodBytes);
        output.Write(" "u8);
        output.Write(MappedTarget.PrefixBytes(target.Prefix));
        output.Write(head.Target[target.RestStart..]);
        output.Write(" HTTP/1.1\r\n"u8);
        output.Write(_hostLine);
        output.Write(authorizationLine);
        if (identityEncoding)
        {
            output.Write("Accept-Encoding: identity\r\n"u8);
        }

        var bytes = head.Bytes;
        foreach (var field in head.Fields)
        {
            if (IsForwarded(head, field) && !(identityEncoding && field.Known == KnownField.AcceptEncoding))
            {
                output.Write(field.Line(bytes));
                output.Write("\r\n"u8);
            }
        }

        output.Write(ViaLine);
        if (!forwardedFor.IsEmpty)
        {
            output.Write("X-Forwarded-For: "u8);
            output.Write(forwardedFor);
            output.Write("\r\n"u8);
        }

        // The framing is written by the proxy, not copied: one Content-Length even if the client sent "5, 5".
        switch (framing.Kind)
        {
            case BodyKind.ContentLength:
                output.Write("Content-Length: "u8);
                HttpSyntax.WriteDecimal(output, framing.Length);
                output.Write("\r\n"u8);
                break;
            case BodyKind.Chunked:
                output.Write("Transfer-Encoding: chunked\r\n"u8);
                break;
            case BodyKind.None when head.HasContentLength:
                output.Write("Content-Length: 0\r\n"u8);
                break;
        }

        output.Write("\r\n"u8);
    }

    private static bool IsForwarded(RequestHead head, FieldRange field) => field.Known switch
    {
        // Replaced by the proxy's own line.
        KnownField.Host or KnownField.Authorization => false,

        // The caller's credentials for the proxy, and framing the proxy writes itself.
        KnownField.XApiKey or KnownField.ContentLength => false,

        // The proxy answers 100-continue itself once the caller is authenticated (RFC 9110 §10.1.1).
        KnownField.Expect => false,
        var known when HopByHop.Contains(known) => false,

        // Any other field passes unless Connection names it (RFC 9110 §7.6.1).
        _ => !head.IsNamedByConnection(field.Name(head.Bytes)),
    };
}
