using System.Buffers;
using System.Text;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// A client's model allow-list and its right to manage models (README.md#several-clients-and-keys): the model a
/// request names (the top-level <c>"model"</c> of its JSON body, read from the bytes the proxy holds, never
/// re-serialized) must be on the client's list, or the answer is 403; a restricted client whose body names no model
/// gets 400; management routes need <c>manage</c>. Model lists (<c>/api/tags</c>, <c>/api/ps</c>, <c>/v1/models</c>)
/// come back filtered to the client's models.
/// </summary>
internal sealed class ModelAccessPolicy(bool accessLog) : RequestPolicy
{
    public override PolicyVerdict OnRequest(RequestContext request)
    {
        var client = request.Client!;
        var models = client.AllowList;
        if (models.AllowsEverything && client.Manage && !accessLog)
        {
            // Every model and every route: nothing to read (the common case of a single token).
            return PolicyVerdict.Continue;
        }

        var head = request.Head;
        var target = request.Target;
        var rest = head.Target[target.RestStart..];
        var route = GatewayRoute.Classify(MappedTarget.PrefixBytes(target.Prefix), rest);

        if (route is GatewayRouteKind.OllamaModelList or GatewayRouteKind.OpenAiModelList && !models.AllowsEverything)
        {
            // The answer is read and rewritten, so it must come without a content coding.
            request.ResponseTransform = new ModelListTransform(
                route == GatewayRouteKind.OllamaModelList ? ModelListFormat.Ollama : ModelListFormat.OpenAi, models);
            request.IdentityEncoding = true;
            return PolicyVerdict.Continue;
        }

        var bodyRoute = route is GatewayRouteKind.ModelInBody or GatewayRouteKind.ModelOrNameInBody or GatewayRouteKind.Other;
        if (bodyRoute && !request.BodyHeld && request.Framing.Kind != BodyKind.None && !models.AllowsEverything)
        {
            // The model must be read before anything goes upstream: only a body the proxy holds whole can be.
            return request.Framing.Kind == BodyKind.Chunked
                ? Refuse(411, "a client with a model list must send its body with Content-Length"u8)
                : Refuse(413, "a client with a model list may send a body of at most 1 MiB"u8);
        }

        Span<byte> name = stackalloc byte[RequestModel.MaxNameLength];
        var body = request.HeldBody;
        var path = PathOnly(rest);
        var decision = ModelPolicy.Decide(route, models, client.Manage, path, request.BodyModel, name, out var nameLength, out var status);
        if (decision == ModelDecision.Allowed && models.AllowsEverything && accessLog && bodyRoute && status == RequestModelStatus.NotFound)
        {
            // Unrestricted: read only for the access log (or taken from the usage observer's reading).
            status = request.BodyModel.Find(route == GatewayRouteKind.ModelOrNameInBody ? ModelField.ModelOrName : ModelField.Model, name, out nameLength);
        }

        if (status == RequestModelStatus.Found && accessLog)
        {
            request.Model = ForLog(name[..nameLength]);
        }

        switch (decision)
        {
            case ModelDecision.ManageRefused:
                var manage = new ArrayBufferWriter<byte>(96);
                ModelErrors.WriteManageRefused(manage, client.Name);
                return PolicyVerdict.Refuse(403, manage.WrittenMemory);
            case ModelDecision.NotAllowed:
                var notAllowed = new ArrayBufferWriter<byte>(128);
                ModelErrors.WriteNotAllowed(notAllowed, name[..nameLength], client.Name);
                return PolicyVerdict.Refuse(403, notAllowed.WrittenMemory);
            case ModelDecision.ModelRequired:
                return PolicyVerdict.Refuse(400, ModelErrors.ModelRequired(status).ToArray());
        }

        // A model named again past the bytes read (the upstream takes the last one) would slip by the check.
        if (!models.AllowsEverything && body.Length > RequestModel.ScanLimit && !GuardRest(body))
        {
            return PolicyVerdict.Refuse(400, ModelErrors.ModelRequired(RequestModelStatus.Ambiguous).ToArray());
        }

        return PolicyVerdict.Continue;
    }

    /// <summary>The name as the access log shows it: a control character (an escape sequence, say) becomes '?'.</summary>
    private static string ForLog(ReadOnlySpan<byte> utf8)
    {
        var text = Encoding.UTF8.GetString(utf8);
        return text.AsSpan().ContainsAnyInRange('\0', '\u001f') || text.Contains('\u007f', StringComparison.Ordinal)
            ? string.Create(text.Length, text, static (chars, source) =>
            {
                for (var i = 0; i < chars.Length; i++)
                {
                    chars[i] = char.IsControl(source[i]) ? '?' : source[i];
                }
            })
            : text;
    }

    private static bool GuardRest(in ReadOnlySequence<byte> body)
    {
        var guard = default(RequestModelGuard);
        foreach (var segment in body)
        {
            if (!guard.Observe(segment.Span))
            {
                return false;
            }
        }

        return true;
    }

    private static PolicyVerdict Refuse(int status, ReadOnlySpan<byte> message)
    {
        var body = new ArrayBufferWriter<byte>(message.Length + 16);
        body.Write("{\"error\":\""u8);
        body.Write(message);
        body.Write("\"}"u8);
        return PolicyVerdict.Refuse(status, body.WrittenMemory);
    }

    private static ReadOnlySpan<byte> PathOnly(ReadOnlySpan<byte> target)
    {
        var query = target.IndexOf((byte)'?');
        return query < 0 ? target : target[..query];
    }

    /// <summary>A model list's answer, filtered to the models the client may use.</summary>
    private sealed class ModelListTransform(ModelListFormat format, ModelAllowList models) : IResponseTransform
    {
        public int MaxBodySize => 8 * 1024 * 1024;

        public bool Applies(ResponseHead response) => response.StatusCode == 200;

        public bool TryTransform(in ReadOnlySequence<byte> body, IBufferWriter<byte> output) =>
            ModelListFilter.TryFilter(body, format, models, output);
    }
}
