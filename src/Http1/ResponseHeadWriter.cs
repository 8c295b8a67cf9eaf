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
    public static void Write(IBufferWriter<byte> output, ResponseHead head, bool dechunk, bool close, ReadOnlySpan<byte> dateField)
    {
        var bytes = head.Bytes;
        var dateRelayed = false;
        output.Write(head.StatusLine);
        output.Write("\r\n"u8);
        foreach (var field in head.Fields)
        {
            if (IsRelayed(head, field, dechunk))
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

            if (close)
            {
                output.Write("Connection: close\r\n"u8);
            }
        }

        output.Write("\r\n"u8);
    }

    private static bool IsRelayed(ResponseHead head, FieldRange field, bool dechunk) => field.Known switch
    {
        // Transfer-Encoding and Trailer describe chunk bytes that pass untouched, so they pass too, unless de-chunked.
        KnownField.TransferEncoding or KnownField.Trailer => !dechunk,
        KnownField.Other or KnownField.ContentType or KnownField.Date => !head.IsNamedByConnection(field.Name(head.Bytes)),
        var known => !HopByHop.Contains(known),
    };
}
