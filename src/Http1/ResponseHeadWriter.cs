using System.Buffers;

namespace OllamaSocketProxy.Http1;

/// <summary>
/// Writes an upstream response head for the client (docs/BEHAVIOUR.md#response): the status line and fields as
/// received, except the fields that manage the upstream connection, which the proxy replaces with its own for the
/// client's.
/// </summary>
public static class ResponseHeadWriter
{
    /// <param name="dechunk">The body is sent de-chunked (to an HTTP/1.0 client): framing fields are dropped.</param>
    /// <param name="close">The client connection closes after this response.</param>
    /// <param name="dateField">
    /// The proxy's <c>Date</c> field line (<see cref="HttpDate.WriteFieldLine"/>), added to a final response that relays
    /// none: RFC 9110 §6.6.1, a recipient with a clock that forwards a response without Date MUST append one.
    /// </param>
    /// <param name="extraFields">Whole field lines the proxy adds to a final response (CORS, for example).</param>
    /// <param name="omitContentLength">
    /// Leave the upstream's Content-Length out: a HEAD answer whose GET body the proxy would rewrite (RFC 9110 §9.3.2
    /// lets a HEAD answer omit fields whose values are only known while making the content).
    /// </param>
    public static void Write(
        IBufferWriter<byte> output, ResponseHead head, bool dechunk, bool close, ReadOnlySpan<byte> dateField, ReadOnlySpan<byte> extraFields = default,
        bool omitContentLength = false)
    {
        var bytes = head.Bytes;
        var dateRelayed = false;
        output.Write(head.StatusLine);
        output.Write("\r\n"u8);
        foreach (var field in head.Fields)
        {
            if (IsRelayed(head, field, dechunk) && !(omitContentLength && field.Known == KnownField.ContentLength))
            {
                output.Write(field.Line(bytes));
                output.Write("\r\n"u8);
                dateRelayed |= field.Known == KnownField.Date;
            }
        }

        if (!head.IsInterim)
        {
            if (!dateRelayed)
            {
                output.Write(dateField);
            }

            output.Write(extraFields);

            if (close)
            {
                output.Write("Connection: close\r\n"u8);
            }
        }

        output.Write("\r\n"u8);
    }

    /// <summary>
    /// Writes the head of a response whose body the proxy rewrote: the upstream's status line and fields, but its
    /// framing replaced by <c>Content-Length: <paramref name="length"/></c> (RFC 9112 §6.3).
    /// </summary>
    public static void WriteWithLength(
        IBufferWriter<byte> output, ResponseHead head, long length, bool close, ReadOnlySpan<byte> dateField, ReadOnlySpan<byte> extraFields)
    {
        var bytes = head.Bytes;
        var dateRelayed = false;
        output.Write(head.StatusLine);
        output.Write("\r\n"u8);
        foreach (var field in head.Fields)
        {
            if (field.Known != KnownField.ContentLength && IsRelayed(head, field, dechunk: true))
            {
                output.Write(field.Line(bytes));
                output.Write("\r\n"u8);
                dateRelayed |= field.Known == KnownField.Date;
            }
        }

        if (!dateRelayed)
        {
            output.Write(dateField);
        }

        output.Write("Content-Length: "u8);
        HttpSyntax.WriteDecimal(output, length);
        output.Write("\r\n"u8);
        output.Write(extraFields);
        if (close)
        {
            output.Write("Connection: close\r\n"u8);
        }

        output.Write("\r\n"u8);
    }

    private static bool IsRelayed(ResponseHead head, FieldRange field, bool dechunk) => field.Known switch
    {
        // Transfer-Encoding and Trailer describe chunk bytes that pass untouched, so they pass too, unless de-chunked.
        KnownField.TransferEncoding or KnownField.Trailer => !dechunk,
        var known when HopByHop.Contains(known) => false,

        // CORS is the proxy's to answer (its origin list, docs/BEHAVIOUR.md#cors): an upstream's own
        // Access-Control-Allow-Origin, "*" say, would let a page the list refuses read the answer, or make a second one.
        KnownField.AccessControl => false,

        // Any other field passes unless Connection names it (RFC 9110 §7.6.1).
        _ => !head.IsNamedByConnection(field.Name(head.Bytes)),
    };
}
