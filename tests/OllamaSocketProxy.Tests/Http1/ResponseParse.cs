using System.Buffers;
using System.Text;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;
using ResponseHead = OllamaSocketProxy.Http1.ResponseHead;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>One call of <see cref="ResponseHeadParser.TryParse"/>, as comparable text.</summary>
public sealed class ResponseParse
{
    private ResponseParse(ParseResult result, long consumed, ResponseHead? head, string? error)
    {
        Result = result;
        Consumed = consumed;
        ParsedHead = head;
        Error = error;
        Summary = Summarize();
    }

    public ParseResult Result { get; }
    public long Consumed { get; }

    /// <summary>The message of the <see cref="InvalidResponseException"/>, when rejected.</summary>
    public string? Error { get; }

    public ResponseHead Head => ParsedHead ?? throw new AssertionException($"not parsed: {Summary}");
    public string Summary { get; }

    private ResponseHead? ParsedHead { get; }

    public static ResponseParse Run(ReadOnlySequence<byte> buffer)
    {
        var head = new ResponseHead();
        var reader = new SequenceReader<byte>(buffer);
        try
        {
            return ResponseHeadParser.TryParse(ref reader, head)
                ? new ResponseParse(ParseResult.Parsed, reader.Consumed, head, null)
                : new ResponseParse(ParseResult.Incomplete, reader.Consumed, null, null);
        }
        catch (InvalidResponseException e)
        {
            return new ResponseParse(ParseResult.Rejected, reader.Consumed, null, e.Message);
        }
    }

    public static ResponseParse Run(string latin1, BufferShape shape) => Run(shape.Build(latin1));

    /// <summary>The response framing of the parsed head for <paramref name="method"/>, or the exception it throws.</summary>
    public string Framing(RequestMethod method)
    {
        try
        {
            var framing = BodyFraming.ForResponse(method, Head);
            return $"{framing.Kind}:{framing.Length}";
        }
        catch (InvalidResponseException)
        {
            return "invalid";
        }
    }

    public override string ToString() => Summary;

    private string Summarize()
    {
        if (Result != ParseResult.Parsed)
        {
            return Result == ParseResult.Rejected ? $"rejected '{Error}' consumed={Consumed}" : $"incomplete consumed={Consumed}";
        }

        var head = ParsedHead!;
        var text = new StringBuilder()
            .Append($"parsed consumed={Consumed} status={head.StatusCode} version={head.Version}")
            .Append($" line={Latin1.Escape(head.StatusLine)} close={head.WantsClose} options={head.HasConnectionOptions}")
            .Append($" cl={head.HasContentLength}/{head.HasInvalidContentLength}/{head.ContentLength} te={head.TransferCoding}")
            .Append($" framing={Framing(RequestMethod.Get)} fields=");
        foreach (var field in head.Fields)
        {
            text.Append($"[{Latin1.Escape(field.Name(head.Bytes))}={Latin1.Escape(field.Value(head.Bytes))}|{field.Known}]");
        }

        return text.ToString();
    }
}
