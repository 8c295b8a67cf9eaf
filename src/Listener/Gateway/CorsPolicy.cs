using System.Buffers;
using System.Text;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// <c>PROXY_ORIGINS</c>: which browser origins may call the proxy (CORS), with the syntax and defaults of Ollama's
/// <c>OLLAMA_ORIGINS</c>, so that a web app that works with a local Ollama works with the proxy.
/// </summary>
/// <remarks>
/// <para>
/// The origins given are added to Ollama's defaults: <c>http://</c> and <c>https://</c> on <c>localhost</c>,
/// <c>127.0.0.1</c> and <c>0.0.0.0</c>, with or without a port, and the <c>app://</c>, <c>file://</c>,
/// <c>tauri://</c>, <c>vscode-webview://</c> and <c>vscode-file://</c> schemes. An origin may hold one <c>*</c>
/// that stands for any text (<c>https://*.example.com</c>, <c>chrome-extension://*</c>); <c>*</c> alone allows
/// every origin. An origin without a <c>*</c> starts with <c>http://</c>, <c>https://</c> or a browser extension's
/// scheme, as gin-contrib/cors (which Ollama uses) requires.
/// </para>
/// <para>
/// The configured origins are lowercased; the <c>Origin</c> field is compared byte for byte as sent, as Ollama
/// does: a browser serializes an origin with its scheme and host in lowercase (RFC 6454 §6). An <c>Origin</c>
/// with anything but visible ASCII (a space, CR, LF, a control byte, obs-text) never matches, so it is never
/// echoed into a response head.
/// </para>
/// <para>
/// A matching origin is echoed in <c>Access-Control-Allow-Origin</c> with <c>Vary: Origin</c>; with <c>*</c>
/// configured, the field says <c>*</c>, as gin-contrib/cors does. No <c>Access-Control-Allow-Credentials</c> is sent
/// (Ollama sends none): a bearer token set by script needs none, only cookies and HTTP authentication by the
/// browser would.
/// </para>
/// </remarks>
public sealed class CorsPolicy
{
    /// <summary>What Ollama allows with <c>OLLAMA_ORIGINS</c> unset (envconfig's <c>AllowedOrigins</c>).</summary>
    private static readonly string[] s_defaultOrigins =
    [
        "http://localhost", "https://localhost", "http://localhost:*", "https://localhost:*",
        "http://127.0.0.1", "https://127.0.0.1", "http://127.0.0.1:*", "https://127.0.0.1:*",
        "http://0.0.0.0", "https://0.0.0.0", "http://0.0.0.0:*", "https://0.0.0.0:*",
        "app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*",
    ];

    /// <summary>The schemes an origin without a <c>*</c> may have: the web's, and the browser extensions' that gin-contrib/cors knows.</summary>
    private static readonly string[] s_exactSchemes =
        ["http://", "https://", "chrome-extension://", "safari-extension://", "moz-extension://", "ms-browser-extension://"];

    /// <summary>tchar (RFC 9110 §5.6.2).</summary>
    private static readonly SearchValues<byte> s_tokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>
    /// Sent when the preflight names no headers, or names them in a form that is not a list of field names:
    /// Ollama's list (the OpenAI SDK's among them), and the two fields Anthropic's SDK needs, since the proxy
    /// also serves <c>/v1/messages</c> with <c>x-api-key</c>.
    /// </summary>
    private static ReadOnlySpan<byte> DefaultAllowHeaders =>
        "Authorization, Content-Type, User-Agent, Accept, X-Requested-With, OpenAI-Beta, "u8
        + "x-stainless-arch, x-stainless-async, x-stainless-custom-poll-interval, x-stainless-helper-method, "u8
        + "x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-poll-helper, "u8
        + "x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout, "u8
        + "x-api-key, anthropic-version"u8;

    private readonly byte[][] _exact;
    private readonly Wildcard[] _wildcards;
    private readonly string[] _origins;

    private CorsPolicy(string[] origins, bool allowsAnyOrigin, byte[][] exact, Wildcard[] wildcards)
    {
        _origins = origins;
        AllowsAnyOrigin = allowsAnyOrigin;
        _exact = exact;
        _wildcards = wildcards;
    }

    /// <summary>Ollama's defaults only (<c>PROXY_ORIGINS</c> unset).</summary>
    public static CorsPolicy Default { get; } = Parse(null);

    /// <summary>Whether <c>*</c> was configured.</summary>
    public bool AllowsAnyOrigin { get; }

    /// <summary>
    /// Ollama's defaults plus the comma-separated origins of <paramref name="value"/> (whitespace around each is
    /// ignored, empty ones are skipped). Throws <see cref="FormatException"/> naming the first origin that is
    /// not one.
    /// </summary>
    public static CorsPolicy Parse(string? value)
    {
        var configured = (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var origins = new List<string>();
        var exact = new List<byte[]>();
        var wildcards = new List<Wildcard>();
        var allowsAnyOrigin = false;
        foreach (var given in configured.Concat(s_defaultOrigins))
        {
            var origin = Check(given).ToLowerInvariant();
            origins.Add(origin);
            var star = origin.IndexOf('*');
            if (origin == "*")
            {
                allowsAnyOrigin = true;
            }
            else if (star < 0)
            {
                exact.Add(Encoding.ASCII.GetBytes(origin));
            }
            else
            {
                wildcards.Add(new Wildcard(Encoding.ASCII.GetBytes(origin[..star]), Encoding.ASCII.GetBytes(origin[(star + 1)..])));
            }
        }

        return new CorsPolicy([.. origins], allowsAnyOrigin, [.. exact], [.. wildcards]);
    }

    /// <summary>Whether a request with this <c>Origin</c> field value may read the answer. Allocates nothing.</summary>
    public bool TryMatch(ReadOnlySpan<byte> origin)
    {
        if (origin.IsEmpty || origin.ContainsAnyExceptInRange((byte)'!', (byte)'~'))
        {
            return false;
        }

        if (AllowsAnyOrigin)
        {
            return true;
        }

        foreach (var exact in _exact)
        {
            if (origin.SequenceEqual(exact))
            {
                return true;
            }
        }

        foreach (var wildcard in _wildcards)
        {
            if (origin.Length >= wildcard.Prefix.Length + wildcard.Suffix.Length
                && origin.StartsWith(wildcard.Prefix) && origin.EndsWith(wildcard.Suffix))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// For a matching origin, writes <c>Access-Control-Allow-Origin: &lt;origin&gt;\r\nVary: Origin\r\n</c> (or
    /// <c>Access-Control-Allow-Origin: *\r\n</c> with <c>*</c> configured) and returns true; otherwise writes nothing.
    /// </summary>
    public bool WriteAllowOrigin(IBufferWriter<byte> output, ReadOnlySpan<byte> origin)
    {
        if (!TryMatch(origin))
        {
            return false;
        }

        WriteAllowOriginField(output, origin);
        if (!AllowsAnyOrigin)
        {
            output.Write("Vary: Origin\r\n"u8);
        }

        return true;
    }

    /// <summary>
    /// The fields of the answer to a preflight (an <c>OPTIONS</c> with <c>Origin</c> and
    /// <c>Access-Control-Request-Method</c>): Allow-Origin, Allow-Methods, Allow-Headers, Max-Age (Ollama's 12 h)
    /// and Vary. The requested headers are echoed when they are a list of field names, else Ollama's list is
    /// sent. Writes nothing and returns false when the origin does not match or the method is not a token.
    /// </summary>
    public bool WritePreflightFields(
        IBufferWriter<byte> output, ReadOnlySpan<byte> origin, ReadOnlySpan<byte> requestedMethod, ReadOnlySpan<byte> requestedHeaders)
    {
        if (!TryMatch(origin) || !IsToken(requestedMethod))
        {
            return false;
        }

        WriteAllowOriginField(output, origin);
        output.Write("Access-Control-Allow-Methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n"u8);
        output.Write("Access-Control-Allow-Headers: "u8);
        var headers = requestedHeaders.Trim(" \t"u8);
        output.Write(IsFieldNameList(headers) ? headers : DefaultAllowHeaders);
        output.Write("\r\nAccess-Control-Max-Age: 43200\r\n"u8);
        output.Write("Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n"u8);
        return true;
    }

    /// <summary>The allowed origins, configured ones first, for the start-up log.</summary>
    public override string ToString() => string.Join(",", _origins);

    private void WriteAllowOriginField(IBufferWriter<byte> output, ReadOnlySpan<byte> origin)
    {
        output.Write("Access-Control-Allow-Origin: "u8);
        output.Write(AllowsAnyOrigin ? "*"u8 : origin);
        output.Write("\r\n"u8);
    }

    private static string Check(string origin)
    {
        if (origin.AsSpan().ContainsAnyExceptInRange('!', '~'))
        {
            throw new FormatException($"'{origin}' is not an origin: it may contain only visible ASCII characters");
        }

        var stars = origin.AsSpan().Count('*');
        if (stars > 1)
        {
            throw new FormatException($"'{origin}' has more than one '*' (one stands for any text, as in https://*.example.com)");
        }

        if (stars == 0 && !s_exactSchemes.Any(scheme => origin.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)))
        {
            throw new FormatException($"'{origin}' is not an origin such as https://example.com or http://192.168.1.10:3000 (scheme://host[:port]; or use a '*', as in chrome-extension://*)");
        }

        return origin;
    }

    /// <summary>1#field-name (RFC 9110 §5.6.1, §5.1): tokens separated by commas and optional whitespace.</summary>
    private static bool IsFieldNameList(ReadOnlySpan<byte> list)
    {
        var names = 0;
        foreach (var range in list.Split((byte)','))
        {
            var name = list[range].Trim(" \t"u8);
            if (name.IsEmpty)
            {
                continue;
            }

            if (!IsToken(name))
            {
                return false;
            }

            names++;
        }

        return names > 0;
    }

    private static bool IsToken(ReadOnlySpan<byte> span) => !span.IsEmpty && !span.ContainsAnyExcept(s_tokenChars);

    private readonly record struct Wildcard(byte[] Prefix, byte[] Suffix);
}
