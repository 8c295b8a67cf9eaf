using System.Text;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>Ready-made upstream handlers and well-formed responses for tests that do not script raw bytes.</summary>
public static class UpstreamResponses
{
    /// <summary>The default handler: 200 with a JSON body naming the target it saw, so pipelined answers can be told apart.</summary>
    public static Task EchoTargetAsync(UpstreamExchange exchange) =>
        exchange.RespondAsync(200, "application/json", $$"""{"target":"{{exchange.Request.Target}}"}""");

    public static Task RespondAsync(this UpstreamExchange exchange, int status, string contentType, string body, params string[] extraFields)
    {
        var content = Encoding.UTF8.GetBytes(body);
        var head = new StringBuilder($"HTTP/1.1 {status} {ReasonPhrase(status)}\r\n");
        head.Append($"Content-Type: {contentType}\r\nContent-Length: {content.Length}\r\n");
        foreach (var field in extraFields)
        {
            head.Append(field).Append("\r\n");
        }

        return exchange.WriteAsync([.. Encoding.Latin1.GetBytes(head.Append("\r\n").ToString()), .. content]);
    }

    /// <summary>A chunked response with one chunk per item, each written and flushed on its own.</summary>
    public static async Task RespondChunkedAsync(this UpstreamExchange exchange, string contentType, IEnumerable<string> chunks)
    {
        await exchange.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: {contentType}\r\nTransfer-Encoding: chunked\r\n\r\n");
        foreach (var chunk in chunks)
        {
            var data = Encoding.UTF8.GetBytes(chunk);
            await exchange.WriteAsync([.. Encoding.Latin1.GetBytes($"{data.Length:x}\r\n"), .. data, (byte)'\r', (byte)'\n']);
        }

        await exchange.WriteAsync("0\r\n\r\n");
    }

    public static string ReasonPhrase(int status) => status switch
    {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Status",
    };
}
