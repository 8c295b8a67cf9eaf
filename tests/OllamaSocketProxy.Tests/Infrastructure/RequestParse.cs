using System.Buffers;
using System.Text;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>One call of <see cref="RequestHeadParser.TryParse"/>, and what it amounts to, as comparable text.</summary>
public sealed class RequestParse
{
    private RequestParse(ParseResult result, long consumed, RequestHead? head, RequestRejection reason)
    {
        Result = result;
        Consumed = consumed;
        ParsedHead = head;
        Reason = reason;
        Summary = Summarize();
    }

    public ParseResult Result { get; }
    public long Consumed { get; }
    public RequestRejection Reason { get; }
    public int Status => RequestRejections.StatusCode(Reason);
    public RequestHead Head => ParsedHead ?? throw new AssertionException($"not parsed: {Summary}");

    /// <summary>Everything the parser decided, so two parses compare as strings and a difference shows.</summary>
    public string Summary { get; }

    private RequestHead? ParsedHead { get; }

    public static RequestParse Run(ReadOnlySequence<byte> buffer, RequestLimits? limits = null)
    {
        var head = new RequestHead();
        var reader = new SequenceReader<byte>(buffer);
        try
        {
            return RequestHeadParser.TryParse(ref reader, limits ?? RequestLimits.Default, head)
                ? new RequestParse(ParseResult.Parsed, reader.Consumed, head, default)
                : new RequestParse(ParseResult.Incomplete, reader.Consumed, null, default);
        }
        catch (RequestRejectionException e)
        {
            return new RequestParse(ParseResult.Rejected, reader.Consumed, null, e.Reason);
        }
    }

    public static RequestParse Run(string latin1, BufferShape shape, RequestLimits? limits = null) =>
        Run(shape.Build(latin1), limits);

    /// <summary>The request framing of the parsed head, or the rejection it throws.</summary>
    public string Framing()
    {
        try
        {
            var framing = BodyFraming.ForRequest(Head);
            return $"{framing.Kind}:{framing.Length}";
        }
        catch (RequestRejectionException e)
        {
            return $"rejected {e.Reason} ({RequestRejections.StatusCode(e.Reason)})";
        }
    }

    public override string ToString() => Summary;

    private string Summarize()
    {
        if (Result != ParseResult.Parsed)
        {
            return Result == ParseResult.Rejected ? $"rejected {Reason} consumed={Consumed}" : $"incomplete consumed={Consumed}";
        }

        var head = ParsedHead!;
        var text = new StringBuilder()
            .Append($"parsed consumed={Consumed} method={head.Method}:{Latin1.Escape(head.MethodBytes)}")
            .Append($" target={Latin1.Escape(head.Target)} version={head.Version} close={head.WantsClose}")
            .Append($" options={head.HasConnectionOptions} hosts={head.HostCount} expect={head.ExpectsContinue}")
            .Append($" auth={head.AuthorizationCount}:{Latin1.Escape(head.Authorization)}")
            .Append($" apikey={head.ApiKeyCount}:{Latin1.Escape(head.ApiKey)}")
            .Append($" cl={head.HasContentLength}/{head.HasInvalidContentLength}/{head.ContentLength} te={head.TransferCoding}")
            .Append($" framing={Framing()} fields=");
        foreach (var field in head.Fields)
        {
            text.Append($"[{Latin1.Escape(field.Name(head.Bytes))}={Latin1.Escape(field.Value(head.Bytes))}|{field.Known}]");
        }

        return text.ToString();
    }
}
