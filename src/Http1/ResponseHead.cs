namespace OllamaSocketProxy.Http1;

/// <summary>A parsed upstream response head: status line and field lines as ranges over its bytes.</summary>
public sealed class ResponseHead : MessageHead
{
    public int StatusCode { get; private set; }
    public Http1Version Version { get; private set; }

    /// <summary>The status line as received, CRLF excluded: relayed to the client unchanged.</summary>
    public ReadOnlySpan<byte> StatusLine => Bytes[..StatusLineLength];

    private int StatusLineLength { get; set; }

    /// <summary>1xx: an interim response, followed by another head (RFC 9110 §15.2).</summary>
    public bool IsInterim => StatusCode is >= 100 and < 200;

    /// <summary>The head has a Date field (RFC 9110 §6.6.1); without one, the proxy adds its own when it relays a final response.</summary>
    public bool HasDate { get; private set; }

    public override void Reset()
    {
        base.Reset();
        HasDate = false;
    }

    protected override void OnField(FieldRange field, ReadOnlySpan<byte> value)
    {
        HasDate |= field.Known == KnownField.Date;
    }

    internal void SetStatusLine(Http1Version version, int statusCode, int length)
    {
        Version = version;
        StatusCode = statusCode;
        StatusLineLength = length;

        // RFC 9112 §9.3: an HTTP/1.0 response does not persist unless it says keep-alive; the proxy does not ask.
        WantsClose = version == Http1Version.Http10;
    }
}
