using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener.Admin;

/// <summary>The media type of an admin answer's body.</summary>
internal enum AdminContent : byte
{
    Text,
    Json,

    /// <summary>Prometheus' text exposition format, version 0.0.4.</summary>
    Metrics,
    Html,
}

/// <summary>The field lines an admin answer carries besides the ones every answer has.</summary>
internal enum AdminFields : byte
{
    None,

    /// <summary>The dashboard page: no referrer, and a content security policy that lets it run its own script only.</summary>
    Page,

    /// <summary>A 401 for the page: a browser asks for the token as a password (RFC 7617 §2).</summary>
    BasicChallenge,

    /// <summary>A 401 for the JSON and probe endpoints (RFC 6750 §3), which a page's script reads without a browser prompt.</summary>
    BearerChallenge,

    /// <summary>A 405: the methods the admin listener serves (RFC 9110 §15.5.6).</summary>
    Allow,
}

/// <summary>An admin answer's status and kind; its body is written beside it.</summary>
internal readonly record struct AdminReply(int Status, AdminContent Content, AdminFields Fields = AdminFields.None);

/// <summary>Writes an admin answer: a complete response with a Content-Length body (<see cref="LocalResponse.Write"/>).</summary>
internal static class AdminResponses
{
    /// <summary>
    /// Every admin answer is about now and none is for a cache (RFC 9111 §5.2.2.5); none is to be sniffed as another
    /// type than it says, so a JSON body never runs as a script.
    /// </summary>
    private static ReadOnlySpan<byte> CommonFields => "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"u8;

    public static void Write(
        IBufferWriter<byte> output, AdminReply reply, ReadOnlySpan<byte> body, ReadOnlySpan<byte> dateField, bool close, bool headOnly) =>
        LocalResponse.Write(output, reply.Status, ContentType(reply.Content), body, dateField, close, Fields(reply.Fields), headOnly, CommonFields);

    private static ReadOnlySpan<byte> ContentType(AdminContent content) => content switch
    {
        AdminContent.Json => "application/json; charset=utf-8"u8,
        AdminContent.Metrics => "text/plain; version=0.0.4; charset=utf-8"u8,
        AdminContent.Html => "text/html; charset=utf-8"u8,
        _ => "text/plain; charset=utf-8"u8,
    };

    private static ReadOnlySpan<byte> Fields(AdminFields fields) => fields switch
    {
        AdminFields.Page =>
            "Referrer-Policy: no-referrer\r\nContent-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"u8,
        AdminFields.BasicChallenge => "WWW-Authenticate: Basic realm=\"OllamaSocketProxy admin\", charset=\"UTF-8\"\r\n"u8,
        AdminFields.BearerChallenge => "WWW-Authenticate: Bearer realm=\"OllamaSocketProxy admin\"\r\n"u8,
        AdminFields.Allow => "Allow: GET, HEAD\r\n"u8,
        _ => default,
    };
}
