using System.Buffers;

namespace OllamaSocketProxy.Http1;

/// <summary>
/// Responses the proxy makes itself: errors in Ollama's JSON shape, and the local answers (docs/BEHAVIOUR.md#routing). Each final
/// response carries the <c>Date</c> field line it is given (RFC 9110 §6.6.1; see <see cref="HttpDate"/>).
/// </summary>
public static class LocalResponse
{
    /// <summary>The answer to a refused request: its status, its text, and the fields its status calls for; the connection closes.</summary>
    public static void WriteRejection(
        IBufferWriter<byte> output, RequestRejection reason, ReadOnlySpan<byte> dateField, bool headOnly = false, ReadOnlySpan<byte> responseFields = default) =>
        WriteError(output, RequestRejections.StatusCode(reason), RequestRejections.Describe(reason), dateField, close: true, headOnly,
            RequestRejections.ExtraFields(reason), responseFields);

    /// <summary>Writes <c>{"error":"message"}</c> with <paramref name="status"/>; the message is one of the proxy's fixed texts.</summary>
    public static void WriteError(
        IBufferWriter<byte> output, int status, string message, ReadOnlySpan<byte> dateField, bool close, bool headOnly = false,
        ReadOnlySpan<byte> extraFields = default, ReadOnlySpan<byte> responseFields = default)
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
        Write(output, status, "application/json; charset=utf-8"u8, body[..length], dateField, close, extraFields, headOnly, responseFields);
    }

    /// <summary>The answer to a request the proxy serves itself (<see cref="LocalAnswers.For"/>).</summary>
    public static void WriteLocalAnswer(
        IBufferWriter<byte> output, LocalAnswer answer, ReadOnlySpan<byte> dateField, bool close, bool headOnly, ReadOnlySpan<byte> responseFields = default)
    {
        if (answer == LocalAnswer.Options)
        {
            // RFC 9110 §9.3.7: Allow names what the proxy serves; without content, Content-Length is 0.
            Write(output, 200, default, default, dateField, close, RequestMethods.AllowField, responseFields: responseFields);
        }
        else
        {
            Write(output, 200, "text/plain; charset=utf-8"u8, "Ollama is running"u8, dateField, close, default, headOnly, responseFields);
        }
    }

    /// <summary>Writes a complete response with a Content-Length body.</summary>
    /// <param name="dateField">The whole <c>Date</c> field line, CRLF included (<see cref="HttpDate.WriteFieldLine"/>).</param>
    /// <param name="responseFields">Whole field lines every response to this request carries (CORS, for example).</param>
    public static void Write(
        IBufferWriter<byte> output, int status, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, ReadOnlySpan<byte> dateField,
        bool close, ReadOnlySpan<byte> extraFields = default, bool headOnly = false, ReadOnlySpan<byte> responseFields = default)
    {
        output.Write("HTTP/1.1 "u8);
        HttpSyntax.WriteDecimal(output, status);
        output.Write(" "u8);
        output.Write(ReasonPhrase(status));
        output.Write("\r\n"u8);
        output.Write(dateField);
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
        output.Write(responseFields);
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

    /// <summary>The interim response sent once the caller is authenticated (RFC 9110 §10.1.1); an interim response needs no Date.</summary>
    public static ReadOnlySpan<byte> Continue => "HTTP/1.1 100 Continue\r\n\r\n"u8;

    private static ReadOnlySpan<byte> ReasonPhrase(int status) => status switch
    {
        200 => "OK"u8,
        204 => "No Content"u8,
        400 => "Bad Request"u8,
        401 => "Unauthorized"u8,
        403 => "Forbidden"u8,
        404 => "Not Found"u8,
        405 => "Method Not Allowed"u8,
        408 => "Request Timeout"u8,
        411 => "Length Required"u8,
        413 => "Content Too Large"u8,
        414 => "URI Too Long"u8,
        417 => "Expectation Failed"u8,
        429 => "Too Many Requests"u8,
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
