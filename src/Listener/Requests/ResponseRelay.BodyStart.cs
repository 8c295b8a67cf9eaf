using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// The body bytes a policy sees with a response head (<see cref="RequestPolicy.ResponseBodyWanted"/>): a 429's short
/// JSON names its limit, and it may come in a read of its own, after the head.
/// </summary>
internal sealed partial class ResponseRelay
{
    /// <summary>Whether fewer body bytes than <paramref name="wanted"/> are in, and more are to come.</summary>
    private static bool WaitsForBody(int wanted, BodyFraming framing, in ReadOnlySequence<byte> body) => framing.Kind switch
    {
        _ when wanted == 0 => false,
        BodyKind.ContentLength => body.Length < Math.Min(wanted, framing.Length),

        // The end of the body ends the wait as well as the bytes wanted do.
        BodyKind.Chunked => body.Length < wanted && !ChunkedBodyEnds(body),
        BodyKind.UntilClose => body.Length < wanted,
        _ => false,
    };

    /// <summary>
    /// Whether nothing more is to be waited for in the chunked <paramref name="body"/>: it is complete (trailer section
    /// included), or malformed (the relay reports that itself).
    /// </summary>
    private static bool ChunkedBodyEnds(in ReadOnlySequence<byte> body)
    {
        var parser = default(ChunkedParser);
        var reader = new SequenceReader<byte>(body);
        var status = ChunkedStatus.Run;
        while (!parser.IsComplete && status == ChunkedStatus.Run)
        {
            status = parser.TryRead(ref reader, out _, out _);
        }

        return parser.IsComplete || status == ChunkedStatus.Invalid;
    }
}
