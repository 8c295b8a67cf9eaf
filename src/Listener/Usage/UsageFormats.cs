using System.Text;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener.Usage;

/// <summary>
/// Chooses the <see cref="UsageFormat"/> of an answer: the route names the API (the routes of Ollama's server,
/// https://github.com/ollama/ollama/blob/main/server/routes.go, that report token counts), the response's
/// <c>Content-Type</c> tells a stream from a single answer.
/// </summary>
public static class UsageFormats
{
    /// <summary>Longer than any route below: a longer path is none of them.</summary>
    private const int MaxRouteLength = 32;

    /// <summary>The label of a route that is none of <see cref="s_routes"/>.</summary>
    public const string OtherRoute = "other";

    // The routes counted by name (the rest is OtherRoute, so a client cannot mint route labels): the token-reporting
    // ones first, then Ollama's other API routes and the OpenAI model list.
    private static readonly (byte[] Path, string Label, UsageApi Api, GatewayRouteKind Kind)[] s_routes =
    [
        Route("/api/chat", UsageApi.Ollama),
        Route("/api/generate", UsageApi.Ollama),
        Route("/api/embed", UsageApi.Ollama),
        Route("/v1/chat/completions", UsageApi.OpenAi),
        Route("/v1/completions", UsageApi.OpenAi),
        Route("/v1/embeddings", UsageApi.OpenAi),
        Route("/v1/responses", UsageApi.OpenAi),
        Route("/v1/messages", UsageApi.Anthropic),
        Route("/api/embeddings", UsageApi.None),
        Route("/api/tags", UsageApi.None),
        Route("/api/ps", UsageApi.None),
        Route("/api/show", UsageApi.None),
        Route("/api/version", UsageApi.None),
        Route("/api/pull", UsageApi.None),
        Route("/api/push", UsageApi.None),
        Route("/api/create", UsageApi.None),
        Route("/api/copy", UsageApi.None),
        Route("/api/delete", UsageApi.None),
        Route("/v1/models", UsageApi.None),
    ];

    private enum MediaType : byte { Other, Json, JsonLines, EventStream }

    /// <summary>Classifies a path without its query.</summary>
    public static UsageApi Classify(ReadOnlySpan<byte> path) => Classify(default, path);

    /// <summary>
    /// Classifies the forwarded target: <paramref name="prefix"/> (<see cref="MappedTarget.PrefixBytes"/>) followed by
    /// <paramref name="rest"/>, the kept part of the client's target, whose query is ignored. The path is compared as the
    /// model policy compares it (percent-escapes decoded, runs of slashes as one, no trailing slash, any ASCII case), so
    /// a spelling the upstream serves is counted like the plain one.
    /// </summary>
    public static UsageApi Classify(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> rest) => Classify(prefix, rest, out _, out _);

    /// <summary>
    /// Classifies the forwarded target as the other overload does, and names its route for the usage rows:
    /// <c>/api/chat</c>, <c>/v1/models</c>, ..., or <see cref="OtherRoute"/> (a string that exists already: no
    /// allocation). Of a named route it also tells the kind <see cref="GatewayRoute"/> gives it, from the same walk of
    /// the table; <see cref="GatewayRouteKind.Other"/> for <see cref="OtherRoute"/>, which the caller asks
    /// <see cref="GatewayRoute.Classify(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/> about.
    /// </summary>
    public static UsageApi Classify(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> rest, out string route, out GatewayRouteKind kind)
    {
        route = OtherRoute;
        kind = GatewayRouteKind.Other;
        Span<byte> buffer = stackalloc byte[MaxRouteLength];
        if (!Gateway.RoutePath.TryNormalize(prefix, rest, buffer, out var length))
        {
            return UsageApi.None;
        }

        var path = buffer[..length];
        foreach (var (known, label, api, gatewayKind) in s_routes)
        {
            if (Ascii.EqualsIgnoreCase(path, known))
            {
                route = label;
                kind = gatewayKind;
                return api;
            }
        }

        return UsageApi.None;
    }

    /// <summary>The format of an answer from <paramref name="api"/> whose <c>Content-Type</c> field value is <paramref name="contentType"/>.</summary>
    public static UsageFormat For(UsageApi api, ReadOnlySpan<byte> contentType) => (api, MediaTypeOf(contentType)) switch
    {
        (UsageApi.Ollama, MediaType.Json) => UsageFormat.OllamaJson,
        (UsageApi.Ollama, MediaType.JsonLines) => UsageFormat.OllamaJsonLines,
        (UsageApi.OpenAi, MediaType.Json) => UsageFormat.OpenAiJson,
        (UsageApi.OpenAi, MediaType.EventStream) => UsageFormat.OpenAiEventStream,
        (UsageApi.Anthropic, MediaType.Json) => UsageFormat.AnthropicJson,
        (UsageApi.Anthropic, MediaType.EventStream) => UsageFormat.AnthropicEventStream,
        _ => UsageFormat.None,
    };

    /// <summary>
    /// The format of <paramref name="response"/>, an answer from <paramref name="api"/>: <see cref="UsageFormat.None"/>
    /// without a <c>Content-Type</c>, with two that differ (RFC 9110 §8.3), or with a content coding other than
    /// <c>identity</c> (RFC 9110 §8.4), whose bytes are not the JSON they encode.
    /// </summary>
    public static UsageFormat For(UsageApi api, ResponseHead response)
    {
        if (api == UsageApi.None)
        {
            return UsageFormat.None;
        }

        var head = response.Bytes;
        ReadOnlySpan<byte> contentType = default;
        var found = false;
        foreach (var field in response.Fields)
        {
            if (field.Known == KnownField.ContentType)
            {
                var value = field.Value(head);
                if (found && !value.SequenceEqual(contentType))
                {
                    return UsageFormat.None;
                }

                contentType = value;
                found = true;
            }
            else if (field.Known == KnownField.Other
                && Ascii.EqualsIgnoreCase(field.Name(head), "content-encoding"u8)
                && !IsIdentity(field.Value(head)))
            {
                return UsageFormat.None;
            }
        }

        return found ? For(api, contentType) : UsageFormat.None;
    }

    /// <summary>A named route, with the kind the gateway gives its path, taken from the gateway's own table once.</summary>
    private static (byte[] Path, string Label, UsageApi Api, GatewayRouteKind Kind) Route(string path, UsageApi api)
    {
        var bytes = Encoding.ASCII.GetBytes(path);
        return (bytes, path, api, GatewayRoute.Classify(bytes));
    }

    /// <summary>The media type without its parameters (RFC 9110 §8.3.1), compared in any case.</summary>
    private static MediaType MediaTypeOf(ReadOnlySpan<byte> contentType)
    {
        var parameters = contentType.IndexOf((byte)';');
        var type = (parameters < 0 ? contentType : contentType[..parameters]).Trim(" \t"u8);
        if (Ascii.EqualsIgnoreCase(type, "application/json"u8))
        {
            return MediaType.Json;
        }

        // Ollama sends application/x-ndjson; application/ndjson is the same format under its registered-style name.
        if (Ascii.EqualsIgnoreCase(type, "application/x-ndjson"u8) || Ascii.EqualsIgnoreCase(type, "application/ndjson"u8))
        {
            return MediaType.JsonLines;
        }

        return Ascii.EqualsIgnoreCase(type, "text/event-stream"u8) ? MediaType.EventStream : MediaType.Other;
    }

    /// <summary>Whether a Content-Encoding value names no coding but <c>identity</c>.</summary>
    private static bool IsIdentity(ReadOnlySpan<byte> codings)
    {
        foreach (var range in codings.Split((byte)','))
        {
            var coding = codings[range].Trim(" \t"u8);
            if (!coding.IsEmpty && !Ascii.EqualsIgnoreCase(coding, "identity"u8))
            {
                return false;
            }
        }

        return true;
    }
}
