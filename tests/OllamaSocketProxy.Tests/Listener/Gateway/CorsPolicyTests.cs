using System.Buffers;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// <c>PROXY_ORIGINS</c> with Ollama's <c>OLLAMA_ORIGINS</c> syntax and defaults; the exact fields written; and an
/// <c>Origin</c> with CR, LF or any other non-visible byte that is never matched, so never echoed.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class CorsPolicyTests
{
    private const string OllamaAllowHeaders =
        "Authorization, Content-Type, User-Agent, Accept, X-Requested-With, OpenAI-Beta, "
        + "x-stainless-arch, x-stainless-async, x-stainless-custom-poll-interval, x-stainless-helper-method, "
        + "x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-poll-helper, "
        + "x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout, "
        + "x-api-key, anthropic-version";

    [TestCase("http://localhost", true)]
    [TestCase("https://localhost", true)]
    [TestCase("http://localhost:3000", true)]
    [TestCase("https://localhost:8443", true)]
    [TestCase("http://127.0.0.1", true)]
    [TestCase("http://127.0.0.1:8080", true)]
    [TestCase("https://127.0.0.1:5173", true)]
    [TestCase("http://0.0.0.0:8080", true)]
    [TestCase("https://0.0.0.0", true)]
    [TestCase("app://obsidian.md", true)]
    [TestCase("file://", true)]
    [TestCase("tauri://localhost", true)]
    [TestCase("vscode-webview://1abc2def", true)]
    [TestCase("vscode-file://vscode-app", true)]
    [TestCase("http://example.com", false)]
    [TestCase("http://localhost.example.com", false)] // "localhost:*" is "localhost:" and a port, not any suffix
    [TestCase("http://localhostevil.com", false)]
    [TestCase("http://127.0.0.1.nip.io", false)]
    [TestCase("http://192.168.1.10:3000", false)]
    [TestCase("chrome-extension://abcdefghijklmnop", false)]
    [TestCase("moz-extension://0b9f3a2c", false)]
    [TestCase("null", false)]
    [TestCase("", false)]
    [TestCase("HTTP://LOCALHOST", false)] // compared as sent; a browser sends lowercase (RFC 6454 §6)
    [TestCase("http://LocalHost:3000", false)]
    public void Defaults_AreOllamas(string origin, bool allowed)
    {
        Assert.That(CorsPolicy.Default.TryMatch(Latin1.Bytes(origin)), Is.EqualTo(allowed));
    }

    [TestCase("https://webui.example.com", true)]
    [TestCase("https://webui.example.com:443", false)]
    [TestCase("http://webui.example.com", false)]
    [TestCase("chrome-extension://abcdefghijklmnop", true)]
    [TestCase("moz-extension://0b9f3a2c", true)]
    [TestCase("safari-extension://x", false)]
    [TestCase("http://localhost:3000", true)] // the defaults stay
    [TestCase("tauri://localhost", true)]
    public void ConfiguredOrigins_AreAddedToTheDefaults(string origin, bool allowed)
    {
        var policy = CorsPolicy.Parse(" https://webui.example.com , chrome-extension://*,,moz-extension://* ");

        Assert.That(policy.TryMatch(Latin1.Bytes(origin)), Is.EqualTo(allowed));
    }

    [TestCase("https://*.example.com", "https://a.example.com", true)]
    [TestCase("https://*.example.com", "https://a.b.example.com", true)]
    [TestCase("https://*.example.com", "https://example.com", false)]
    [TestCase("https://*.example.com", "https://.example.com", true)]
    [TestCase("https://*.example.com", "http://a.example.com", false)]
    [TestCase("https://*.example.com", "https://a.example.com.evil.net", false)]
    [TestCase("http://192.168.1.10:*", "http://192.168.1.10:3000", true)]
    [TestCase("http://192.168.1.10:*", "http://192.168.1.100", false)]
    [TestCase("*.example.com", "https://a.example.com", true)]
    [TestCase("*.example.com", "https://a.example.net", false)]
    [TestCase("https://a*a", "https://a", false)] // prefix and suffix may not overlap
    [TestCase("https://a*a", "https://aa", true)]
    public void OneStar_StandsForAnyText(string configured, string origin, bool allowed)
    {
        var policy = CorsPolicy.Parse(configured);

        Assert.That(policy.TryMatch(Latin1.Bytes(origin)), Is.EqualTo(allowed));
    }

    [TestCase("HTTPS://WebUI.Example.COM", "https://webui.example.com", true)]
    [TestCase("HTTPS://WebUI.Example.COM", "HTTPS://WebUI.Example.COM", false)]
    [TestCase("https://*.Example.com", "https://a.example.com", true)]
    public void ConfiguredOrigins_AreLowercased_TheOriginFieldIsNot(string configured, string origin, bool allowed)
    {
        var policy = CorsPolicy.Parse(configured);

        Assert.That(policy.TryMatch(Latin1.Bytes(origin)), Is.EqualTo(allowed));
    }

    [TestCase("https://evil.example")]
    [TestCase("null")]
    [TestCase("chrome-extension://anything")]
    public void Star_AllowsEveryOrigin(string origin)
    {
        var policy = CorsPolicy.Parse("https://webui.example.com, *");

        Assert.That(policy.AllowsAnyOrigin, Is.True);
        Assert.That(policy.TryMatch(Latin1.Bytes(origin)), Is.True);
    }

    [TestCase("http://localhost:3000\r\nSet-Cookie: a=b")]
    [TestCase("http://localhost:3000\r")]
    [TestCase("http://localhost:3000\n")]
    [TestCase("http://localhost:\n")]
    [TestCase("http://localhost:3000\0")]
    [TestCase("http://localhost: 3000")]
    [TestCase("http://localhost:3000\t")]
    [TestCase("http://localhost:3000\u007f")]
    [TestCase("http://localhost:3000\u00e9")]
    public void OriginWithAByteThatIsNotVisibleAscii_NeverMatches_NotEvenStar(string origin)
    {
        var bytes = Latin1.Bytes(origin);
        var output = new ArrayBufferWriter<byte>();

        Assert.That(CorsPolicy.Default.TryMatch(bytes), Is.False);
        Assert.That(CorsPolicy.Parse("*").TryMatch(bytes), Is.False);
        Assert.That(CorsPolicy.Parse("*").WriteAllowOrigin(output, bytes), Is.False);
        Assert.That(CorsPolicy.Default.WritePreflightFields(output, bytes, "POST"u8, "content-type"u8), Is.False);
        Assert.That(output.WrittenCount, Is.Zero);
    }

    [Test]
    public void MatchingOrigin_IsEchoedWithVaryOrigin()
    {
        var output = new ArrayBufferWriter<byte>();

        var written = CorsPolicy.Default.WriteAllowOrigin(output, "http://localhost:3000"u8);

        Assert.That(written, Is.True);
        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo("Access-Control-Allow-Origin: http://localhost:3000\r\nVary: Origin\r\n"));
    }

    [Test]
    public void AnyOriginConfigured_AllowOriginIsStarWithoutVary()
    {
        var output = new ArrayBufferWriter<byte>();

        CorsPolicy.Parse("*").WriteAllowOrigin(output, "https://evil.example"u8);

        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo("Access-Control-Allow-Origin: *\r\n"));
    }

    [Test]
    public void OriginThatDoesNotMatch_GetsNoField()
    {
        var output = new ArrayBufferWriter<byte>();

        Assert.That(CorsPolicy.Default.WriteAllowOrigin(output, "https://evil.example"u8), Is.False);
        Assert.That(CorsPolicy.Default.WritePreflightFields(output, "https://evil.example"u8, "POST"u8, "content-type"u8), Is.False);
        Assert.That(output.WrittenCount, Is.Zero);
    }

    [Test]
    public void Preflight_EchoesRequestedHeaders()
    {
        var output = new ArrayBufferWriter<byte>();

        var written = CorsPolicy.Default.WritePreflightFields(
            output, "http://localhost:5173"u8, "POST"u8, " authorization,content-type, x-stainless-os "u8);

        Assert.That(written, Is.True);
        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo(
            "Access-Control-Allow-Origin: http://localhost:5173\r\n"
            + "Access-Control-Allow-Methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n"
            + "Access-Control-Allow-Headers: authorization,content-type, x-stainless-os\r\n"
            + "Access-Control-Max-Age: 43200\r\n"
            + "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n"));
    }

    [TestCase("")]
    [TestCase(" , ")]
    [TestCase("content-type, x y")]
    [TestCase("content-type\r\nSet-Cookie: a=b")]
    [TestCase("content-type;x")]
    [TestCase("content-type, \"x\"")]
    public void Preflight_WithoutAListOfFieldNames_SendsOllamasList(string requested)
    {
        var output = new ArrayBufferWriter<byte>();

        CorsPolicy.Default.WritePreflightFields(output, "http://localhost:5173"u8, "PUT"u8, Latin1.Bytes(requested));

        Assert.That(Latin1.Text(output.WrittenSpan), Is.EqualTo(
            "Access-Control-Allow-Origin: http://localhost:5173\r\n"
            + "Access-Control-Allow-Methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n"
            + "Access-Control-Allow-Headers: " + OllamaAllowHeaders + "\r\n"
            + "Access-Control-Max-Age: 43200\r\n"
            + "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\r\n"));
    }

    [Test]
    public void Preflight_AnyOriginConfigured_AllowOriginIsStar()
    {
        var output = new ArrayBufferWriter<byte>();

        CorsPolicy.Parse("*").WritePreflightFields(output, "https://evil.example"u8, "POST"u8, "content-type"u8);

        Assert.That(Latin1.Text(output.WrittenSpan), Does.StartWith("Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: "));
    }

    [TestCase("")]
    [TestCase("PO ST")]
    [TestCase("POST\r\n")]
    [TestCase("GET,POST")]
    public void Preflight_WithAMethodThatIsNotAToken_GetsNoField(string method)
    {
        var output = new ArrayBufferWriter<byte>();

        Assert.That(CorsPolicy.Default.WritePreflightFields(output, "http://localhost:5173"u8, Latin1.Bytes(method), "content-type"u8), Is.False);
        Assert.That(output.WrittenCount, Is.Zero);
    }

    [Test]
    public void ToString_ListsConfiguredOriginsThenOllamasDefaults()
    {
        var policy = CorsPolicy.Parse("HTTPS://WebUI.example.com, chrome-extension://*");

        Assert.That(policy.ToString(), Is.EqualTo(
            "https://webui.example.com,chrome-extension://*,"
            + "http://localhost,https://localhost,http://localhost:*,https://localhost:*,"
            + "http://127.0.0.1,https://127.0.0.1,http://127.0.0.1:*,https://127.0.0.1:*,"
            + "http://0.0.0.0,https://0.0.0.0,http://0.0.0.0:*,https://0.0.0.0:*,"
            + "app://*,file://*,tauri://*,vscode-webview://*,vscode-file://*"));
    }

    [TestCase("webui.example.com", "'webui.example.com' is not an origin such as https://example.com or http://192.168.1.10:3000 (scheme://host[:port]; or use a '*', as in chrome-extension://*)")]
    [TestCase("ws://localhost:3000", "'ws://localhost:3000' is not an origin such as https://example.com or http://192.168.1.10:3000 (scheme://host[:port]; or use a '*', as in chrome-extension://*)")]
    [TestCase("https://*.example.*", "'https://*.example.*' has more than one '*' (one stands for any text, as in https://*.example.com)")]
    [TestCase("https://web ui.example.com", "'https://web ui.example.com' is not an origin: it may contain only visible ASCII characters")]
    [TestCase("https://webui\r\n.example.com", "'https://webui\r\n.example.com' is not an origin: it may contain only visible ASCII characters")]
    [TestCase("http://localhost, nonsense", "'nonsense' is not an origin such as https://example.com or http://192.168.1.10:3000 (scheme://host[:port]; or use a '*', as in chrome-extension://*)")]
    public void InvalidOrigin_IsNamedInTheError(string value, string message)
    {
        var error = Assert.Throws<FormatException>(() => CorsPolicy.Parse(value));

        Assert.That(error!.Message, Is.EqualTo(message));
    }

    [Test]
    public void MatchingAndWriting_AllocateNothing()
    {
        var policy = CorsPolicy.Parse("https://*.example.com, chrome-extension://*");
        var output = new ArrayBufferWriter<byte>(4096);
        var matched = 0;

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            matched += policy.TryMatch("https://a.example.com"u8) ? 1 : 0;
            matched += policy.TryMatch("https://evil.example"u8) ? 1 : 0;
            policy.WriteAllowOrigin(output, "vscode-webview://abc"u8);
            policy.WritePreflightFields(output, "http://localhost:3000"u8, "POST"u8, "authorization, content-type"u8);
            policy.WritePreflightFields(output, "http://localhost:3000"u8, "POST"u8, ""u8);
            output.ResetWrittenCount();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(matched, Is.EqualTo(1_000));
    }
}
