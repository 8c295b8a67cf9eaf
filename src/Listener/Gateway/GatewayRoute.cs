using System.Buffers;
using System.Text;
using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// Sorts a request by the path the upstream will see (<c>/api/…</c> or <c>/v1/…</c>, after the proxy's mapping) into
/// what the model policy must do with it. The list follows the routes Ollama's server registers
/// (https://github.com/ollama/ollama/blob/main/server/routes.go, <c>GenerateRoutes</c>), which the cloud API at
/// https://ollama.com/api and /v1 serves a part of.
/// </summary>
/// <remarks>
/// The path is compared as the most lenient server could route it, so that no spelling reaches a route unchecked:
/// percent-escapes decoded (Go's router matches the decoded path), runs of slashes as one, a trailing slash
/// dropped, ASCII case ignored. A spelling the upstream does not route only makes the check stricter.
/// </remarks>
public static class GatewayRoute
{
    private const int StackPathLength = 512;

    private static readonly (byte[] Path, GatewayRouteKind Kind)[] s_routes =
    [
        ("/api/chat"u8.ToArray(), GatewayRouteKind.ModelInBody),
        ("/api/generate"u8.ToArray(), GatewayRouteKind.ModelInBody),
        ("/api/embed"u8.ToArray(), GatewayRouteKind.ModelInBody),
        ("/api/embeddings"u8.ToArray(), GatewayRouteKind.ModelInBody),
        ("/v1/chat/completions"u8.ToArray(), GatewayRouteKind.ModelInBody),
        ("/v1/completions"u8.ToArray(), GatewayRouteKind.ModelInBody),
        ("/v1/embeddings"u8.ToArray(), GatewayRouteKind.ModelInBody),
        ("/v1/responses"u8.ToArray(), GatewayRouteKind.ModelInBody),
        ("/v1/messages"u8.ToArray(), GatewayRouteKind.ModelInBody),
        ("/v1/images/generations"u8.ToArray(), GatewayRouteKind.ModelInBody),
        ("/v1/images/edits"u8.ToArray(), GatewayRouteKind.ModelInBody),

        // Its model is a multipart form field, not JSON: a restricted client gets 400 there, never an unchecked model.
        ("/v1/audio/transcriptions"u8.ToArray(), GatewayRouteKind.ModelInBody),

        ("/api/show"u8.ToArray(), GatewayRouteKind.ModelOrNameInBody),

        ("/api/tags"u8.ToArray(), GatewayRouteKind.OllamaModelList),
        ("/api/ps"u8.ToArray(), GatewayRouteKind.OllamaModelList),
        ("/v1/models"u8.ToArray(), GatewayRouteKind.OpenAiModelList),

        ("/api/pull"u8.ToArray(), GatewayRouteKind.Manage),
        ("/api/push"u8.ToArray(), GatewayRouteKind.Manage),
        ("/api/create"u8.ToArray(), GatewayRouteKind.Manage),
        ("/api/copy"u8.ToArray(), GatewayRouteKind.Manage),
        ("/api/delete"u8.ToArray(), GatewayRouteKind.Manage),
        ("/api/blobs"u8.ToArray(), GatewayRouteKind.Manage),
        ("/api/me"u8.ToArray(), GatewayRouteKind.Manage),
        ("/api/signout"u8.ToArray(), GatewayRouteKind.Manage),

        ("/api/version"u8.ToArray(), GatewayRouteKind.NoModel),
        ("/api/status"u8.ToArray(), GatewayRouteKind.NoModel),
        ("/api/web_search"u8.ToArray(), GatewayRouteKind.NoModel),
        ("/api/web_fetch"u8.ToArray(), GatewayRouteKind.NoModel),
        ("/api/experimental/web_search"u8.ToArray(), GatewayRouteKind.NoModel),
        ("/api/experimental/web_fetch"u8.ToArray(), GatewayRouteKind.NoModel),
    ];

    /// <summary>Routes with a parameter segment: the prefix and at least one byte after it.</summary>
    private static readonly (byte[] Prefix, GatewayRouteKind Kind)[] s_prefixes =
    [
        ("/api/blobs/"u8.ToArray(), GatewayRouteKind.Manage),
        ("/api/user/keys/"u8.ToArray(), GatewayRouteKind.Manage),
        ("/v1/models/"u8.ToArray(), GatewayRouteKind.ModelInPath),
    ];

    private static ReadOnlySpan<byte> ModelPathPrefix => "/v1/models/"u8;

    /// <summary>Classifies a path without its query.</summary>
    public static GatewayRouteKind Classify(ReadOnlySpan<byte> path) => Classify(default, path);

    /// <summary>
    /// Classifies the forwarded target: <paramref name="prefix"/> (<see cref="MappedTarget.PrefixBytes"/>) followed by
    /// <paramref name="rest"/>, the kept part of the client's target, whose query is ignored.
    /// </summary>
    public static GatewayRouteKind Classify(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> rest)
    {
        var length = prefix.Length + rest.Length;
        byte[]? rented = null;
        var buffer = length <= StackPathLength ? stackalloc byte[StackPathLength] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            return Lookup(buffer[..Normalize(prefix, rest, buffer)]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// For <see cref="GatewayRouteKind.ModelInPath"/>: writes the model the path names, percent-decoded, to
    /// <paramref name="destination"/>. False when the path names none, or it does not fit.
    /// </summary>
    public static bool TryGetPathModel(ReadOnlySpan<byte> path, Span<byte> destination, out int length)
    {
        length = 0;
        byte[]? rented = null;
        var buffer = path.Length <= StackPathLength ? stackalloc byte[StackPathLength] : (rented = ArrayPool<byte>.Shared.Rent(path.Length));
        try
        {
            var normalized = buffer[..Normalize(default, path, buffer)];
            if (!StartsWithIgnoreCase(normalized, ModelPathPrefix) || normalized.Length == ModelPathPrefix.Length)
            {
                return false;
            }

            var model = normalized[ModelPathPrefix.Length..];
            if (model.Length > destination.Length)
            {
                return false;
            }

            model.CopyTo(destination);
            length = model.Length;
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static GatewayRouteKind Lookup(ReadOnlySpan<byte> path)
    {
        foreach (var (route, kind) in s_routes)
        {
            if (Ascii.EqualsIgnoreCase(path, route))
            {
                return kind;
            }
        }

        foreach (var (prefix, kind) in s_prefixes)
        {
            if (path.Length > prefix.Length && StartsWithIgnoreCase(path, prefix))
            {
                return kind;
            }
        }

        return GatewayRouteKind.Other;
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> path, ReadOnlySpan<byte> prefix) =>
        path.Length >= prefix.Length && Ascii.EqualsIgnoreCase(path[..prefix.Length], prefix);

    /// <summary><see cref="RoutePath.TryNormalize"/> into a buffer as long as both parts, which it always fits.</summary>
    private static int Normalize(ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> rest, Span<byte> destination)
    {
        RoutePath.TryNormalize(prefix, rest, destination, out var length);
        return length;
    }
}
