using System.Text;
using System.Text.Json;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>A complete (or truncated) response as the raw client received it.</summary>
public sealed class RawResponse
{
    public required ResponseHead Head { get; init; }

    /// <summary>The 1xx responses that came before this one.</summary>
    public IReadOnlyList<ResponseHead> Interim { get; init; } = [];

    public required ResponseBodyKind BodyKind { get; init; }

    /// <summary>The body bytes exactly as on the wire, chunk framing included.</summary>
    public required byte[] RawBody { get; init; }

    /// <summary>The body content, de-chunked.</summary>
    public required byte[] Body { get; init; }

    public HeaderFields Trailers { get; init; } = HeaderFields.Empty;

    /// <summary>The chunks as received, for chunked bodies.</summary>
    public IReadOnlyList<RawChunk> Chunks { get; init; } = [];

    /// <summary>False when the connection ended (or the framing broke) before the body's proper end.</summary>
    public required bool IsComplete { get; init; }

    public int StatusCode => Head.StatusCode;

    public HeaderFields Headers => Head.Headers;

    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>The <c>error</c> string of a JSON body in Ollama's error shape, or <c>null</c>.</summary>
    public string? JsonError
    {
        get
        {
            try
            {
                using var json = JsonDocument.Parse(Body);
                return json.RootElement.ValueKind == JsonValueKind.Object
                    && json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String
                    ? error.GetString()
                    : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    /// <summary>The whole response as text, for assertion messages.</summary>
    public string Describe() =>
        string.Concat(Interim.Select(head => head.Text)) + Head.Text + Encoding.Latin1.GetString(RawBody)
        + (IsComplete ? "" : "\r\n<<connection ended before the body's end>>");

    public override string ToString() => Describe();
}
