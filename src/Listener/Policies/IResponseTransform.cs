using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// Rewrites a whole answer before it goes to the client: the one case where the proxy does not relay byte for byte
/// (a model list filtered to the client's models). The relay reads the body whole, bounded by
/// <see cref="MaxBodySize"/>, without its chunked framing, and sends what this writes with a Content-Length.
/// </summary>
internal interface IResponseTransform
{
    /// <summary>The largest answer read whole; a larger one is a 502.</summary>
    int MaxBodySize { get; }

    /// <summary>Whether this response is rewritten (a 200 with a body, say); any other is relayed as it is.</summary>
    bool Applies(ResponseHead response);

    /// <summary>Writes the new body; false when the answer cannot be read (a 502 then).</summary>
    bool TryTransform(in ReadOnlySequence<byte> body, IBufferWriter<byte> output);
}
