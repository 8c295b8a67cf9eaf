using System.Buffers;
using System.Text;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// The bodies of the model policy's refusals, in Ollama's error shape <c>{"error":"…"}</c>. A model or client name
/// in them is escaped as Go's encoding/json escapes it (quotes, backslashes, controls, <c>&lt;</c> <c>&gt;</c>
/// <c>&amp;</c>, U+2028, U+2029; invalid UTF-8 as U+FFFD), so a hostile name can neither break the JSON nor be
/// read as markup.
/// </summary>
public static class ModelErrors
{
    /// <summary>403: <c>{"error":"model \"x\" is not allowed for client \"kids\""}</c>.</summary>
    public static void WriteNotAllowed(IBufferWriter<byte> output, ReadOnlySpan<byte> model, string client)
    {
        output.Write("{\"error\":\"model \\\""u8);
        WriteEscaped(output, model);
        output.Write("\\\" is not allowed for client \\\""u8);
        WriteEscaped(output, client);
        output.Write("\\\"\"}"u8);
    }

    /// <summary>403 on a <see cref="GatewayRouteKind.Manage"/> route: <c>{"error":"client \"kids\" may not manage models"}</c>.</summary>
    public static void WriteManageRefused(IBufferWriter<byte> output, string client)
    {
        output.Write("{\"error\":\"client \\\""u8);
        WriteEscaped(output, client);
        output.Write("\\\" may not manage models\"}"u8);
    }

    /// <summary>The 400 body for a client with a model list whose request names no usable model.</summary>
    public static ReadOnlySpan<byte> ModelRequired(RequestModelStatus status) => status switch
    {
        RequestModelStatus.Invalid => "{\"error\":\"request body is not valid JSON, or its model is not a valid name\"}"u8,
        RequestModelStatus.Ambiguous => "{\"error\":\"request body names more than one model\"}"u8,
        _ => "{\"error\":\"request body names no model (a top-level \\\"model\\\" within its first 64 KiB)\"}"u8,
    };

    /// <summary>The 502 body when a model list to filter is not JSON: an unfiltered list is never passed on.</summary>
    public static ReadOnlySpan<byte> InvalidModelList => "{\"error\":\"upstream sent an invalid model list\"}"u8;

    /// <summary>Writes <paramref name="value"/> as the inside of a JSON string.</summary>
    public static void WriteEscaped(IBufferWriter<byte> output, string value)
    {
        for (var i = 0; i < value.Length;)
        {
            if (Rune.DecodeFromUtf16(value.AsSpan(i), out var rune, out var consumed) != OperationStatus.Done)
            {
                rune = Rune.ReplacementChar;
            }

            WriteRune(output, rune);
            i += consumed;
        }
    }

    /// <summary>Writes <paramref name="utf8"/> as the inside of a JSON string.</summary>
    public static void WriteEscaped(IBufferWriter<byte> output, ReadOnlySpan<byte> utf8)
    {
        for (var i = 0; i < utf8.Length;)
        {
            if (Rune.DecodeFromUtf8(utf8[i..], out var rune, out var consumed) != OperationStatus.Done)
            {
                rune = Rune.ReplacementChar;
            }

            WriteRune(output, rune);
            i += consumed;
        }
    }

    private static void WriteRune(IBufferWriter<byte> output, Rune rune)
    {
        var span = output.GetSpan(6);
        int written;
        switch (rune.Value)
        {
            case '"':
                written = Write(span, "\\\""u8);
                break;
            case '\\':
                written = Write(span, "\\\\"u8);
                break;
            case '\n':
                written = Write(span, "\\n"u8);
                break;
            case '\r':
                written = Write(span, "\\r"u8);
                break;
            case '\t':
                written = Write(span, "\\t"u8);
                break;
            case < 0x20 or '<' or '>' or '&' or 0x2028 or 0x2029:
                Write(span, "\\u"u8);
                span[2] = Hex(rune.Value >> 12);
                span[3] = Hex(rune.Value >> 8);
                span[4] = Hex(rune.Value >> 4);
                span[5] = Hex(rune.Value);
                written = 6;
                break;
            default:
                written = rune.EncodeToUtf8(span);
                break;
        }

        output.Advance(written);
    }

    private static int Write(Span<byte> span, ReadOnlySpan<byte> text)
    {
        text.CopyTo(span);
        return text.Length;
    }

    private static byte Hex(int value) => "0123456789abcdef"u8[value & 0xF];
}
