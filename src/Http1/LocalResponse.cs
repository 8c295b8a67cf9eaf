using System.Buffers;

namespace OllamaSocketProxy.Http1;

/// <summary>Responses the proxy makes itself: errors in Ollama's JSON shape, and the local answers (docs/BEHAVIOUR.md#routing).</summary>
public static class LocalResponse
{
    /// <summary>Writes <c>{"error":"message"}</c> with <paramref name="status"/>; the message is one of the proxy's fixed texts.</summary>
    public static void WriteError(IBufferWriter<byte> output, int status, string message, bool close, bool headOnly = false)
    {
        Span<byte> body = stackalloc byte[message.Length + 12];
        "{\"error\":\""u8.CopyTo(body);
        var length = 10;
        foreach (var c in message)
        {
            // Fixed ASCII texts; anything else would be a bug, and is replaced rather than escaped.
            body[length++] = c is >= ' ' and < (char)0x7F and not '"' and not '\\' ? (byte)c : (byte)'?';
        }

        "\"}"u8.CopyTo(body[length..]);
        length += 2;
        var extra = status switch
        {
            401 => "WWW-Authenticate: Bearer\r\n"u8,
            405 => "Allow: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\n"u8,
            _ => default,
        };
        Write(output, status, "application/json; charset=utf-8"u8, body[..length], close, extra, headOnly);
    }

    /// <summary>Writes a complete response with a Content-Length body.</summary>
    public static void Write(
        IBufferWriter<byte> output, int status, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body,
        bool close, ReadOnlySpan<byte> extraFields = default, bool headOnly = false)
    {
        output.Write("HTTP/1.1 "u8);
        HttpSyntax.WriteDecimal(output, status);
        output.Write(" "u8);
        output.Write(ReasonPhrase(status));
        output.Write("\r\n"u8);
        if (!contentType.IsEmpty)
        {
            output.Write("Content-Type: "u8);
            output.Write(contentType);
            output.Write("\r\n"u8);
        }

        output.Write("Content-Length: "u8);
        HttpSyntax.WriteDecimal(output, body.Length);
        output.Write("\r\n"u8);
        output.Write(extraFields);
        if (close)
        {
            output.Write("Connection: close\r\n"u8);
        }

        output.Write("\r\n"u8);
        if (!headOnly)
        {
            output.Write(body);
        }
    }

    /// <summary>The interim response sent once the caller is authenticated (RFC 9110 §10.1.1).</summary>
    public static ReadOnlySpan<byte> Continue => "HTTP/1.1 100 Continue\r\n\r\n"u8;

    private static ReadOnlySpan<byte> ReasonPhrase(int status) => status switch
    {
        200 => "OK"u8,
        204 => "No Content"u8,
        400 => "Bad Request"u8,
        401 => "Unauthorized"u8,
        405 => "Method Not Allowed"u8,
        408 => "Request Timeout"u8,
        413 => "Content Too Large"u8,
        414 => "URI Too Long"u8,
        417 => "Expectation Failed"u8,
        431 => "Request Header Fields Too Large"u8,
        500 => "Internal Server Error"u8,
        501 => "Not Implemented"u8,
        502 => "Bad Gateway"u8,
        503 => "Service Unavailable"u8,
        504 => "Gateway Timeout"u8,
        505 => "HTTP Version Not Supported"u8,
        _ => ""u8,
    };
}
