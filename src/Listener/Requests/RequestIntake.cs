using System.Buffers;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// Step 2 of a request: everything decided before a byte goes upstream, in the order the rules need it
/// (docs/BEHAVIOUR.md): a malformed request is refused whatever its token, so the head and its framing are
/// validated first; then the proxy's own answers, which need no token; then authentication, the body limit, and
/// the policies. Writes nothing upstream; writes to the client only the proxy's own answers.
/// </summary>
internal sealed class RequestIntake(ClientConnection connection)
{
    /// <summary>
    /// Parses and judges the request at the start of <paramref name="buffer"/>. Throws
    /// <see cref="RequestRejectionException"/> for a request the client got wrong.
    /// </summary>
    /// <param name="headEnd">Where the head ends in <paramref name="buffer"/> (the body, if any, follows).</param>
    public Decision Decide(ReadOnlySequence<byte> buffer, out SequencePosition headEnd)
    {
        var context = connection.Context;
        var request = connection.Request;
        var head = request.Head;
        var reader = new SequenceReader<byte>(buffer);
        headEnd = buffer.Start;
        if (!RequestHeadParser.TryParse(ref reader, context.Options.Limits, head))
        {
            return Decision.NeedMore;
        }

        request.HeadParsed = true;
        headEnd = reader.Position;
        var method = head.Method;

        // Before anything is answered: policies may add fields to whatever response this request gets.
        if (request.ResponseFields.WrittenCount == 0)
        {
            context.Policies.OnHead(request);
        }

        // Only the methods these APIs use go upstream: a CONNECT would open a tunnel anywhere, a TRACE echo would show
        // the injected key (RFC 9110 §9.3.6, §9.3.8; docs/BEHAVIOUR.md#methods).
        RequestMethods.ThrowIfNotServed(method);

        var target = RequestTarget.Map(head.Target);
        request.Target = target;
        if (context.Options.AccessLog)
        {
            request.Log.Capture(head, target);
        }

        var local = LocalAnswers.For(method, target.Kind);
        var framing = BodyFraming.ForRequest(head);
        request.Framing = framing;

        // Ollama's health check and OPTIONS spend nothing upstream; the ollama CLI and browsers send them without a token.
        if (local != LocalAnswer.None)
        {
            // A body on a local request is not read: the connection closes after the answer instead.
            request.CloseAfterResponse = head.WantsClose || connection.Stopping || framing.Kind != BodyKind.None;
            connection.Responses.WriteLocalAnswer(local, request.CloseAfterResponse);
            return Decision.AnsweredLocally;
        }

        request.Client = context.Authentication.Authenticate(head);
        if (request.Client is null)
        {
            RequestRejections.Throw(RequestRejection.Unauthorized);
        }

        if (framing.Kind == BodyKind.ContentLength && framing.Length > context.Options.MaxRequestBodySize)
        {
            RequestRejections.Throw(RequestRejection.BodyTooLarge);
        }

        var held = framing.Kind == BodyKind.None
            || (framing.Kind == BodyKind.ContentLength && framing.Length <= context.HeldBodyLimit);
        if (held)
        {
            if (reader.Remaining < framing.Length)
            {
                if (head.ExpectsContinue && !request.ContinueSent)
                {
                    // RFC 9110 §10.1.1: the caller is authenticated and waits to send its small body, which is then
                    // held like any other. The 100 goes out with the next flush, before the wait for the body.
                    connection.Responses.Output.Write(LocalResponse.Continue);
                    request.ContinueSent = true;
                }

                // Parsed again once the rest of the small body is in: cheap, and the bytes stay in one buffer.
                return Decision.NeedMore;
            }

            request.BodyHeld = true;
            request.HeldBody = buffer.Slice(headEnd, framing.Kind == BodyKind.None ? 0 : framing.Length);
        }

        var verdict = context.Policies.OnRequest(request);
        if (verdict.IsRefusal)
        {
            request.Refusal = verdict;
            return Decision.Refused;
        }

        return Decision.Forward;
    }
}
