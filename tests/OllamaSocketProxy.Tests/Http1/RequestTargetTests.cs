using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>
/// The routing table, and the targets refused because the upstream might read another path
/// (docs/BEHAVIOUR.md#routing).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestTargetTests
{
    /// <summary>The target as the upstream receives it: the mapped prefix, then the kept part of the client's target.</summary>
    private static string Forwarded(string target, MappedTarget mapped) =>
        Latin1.Text(MappedTarget.PrefixBytes(mapped.Prefix)) + target[mapped.RestStart..];

    [TestCase("/api/tags", "/api/tags")]
    [TestCase("/api/chat", "/api/chat")]
    [TestCase("/api", "/api")]
    [TestCase("/api/", "/api/")]
    [TestCase("/api/api/tags", "/api/tags")]
    [TestCase("/api/api/api/api/generate", "/api/generate")]
    [TestCase("/api/api", "/api")]
    [TestCase("/api/api?x=1", "/api?x=1")]
    [TestCase("/api/apix", "/api/apix")]
    [TestCase("/api/v1/models", "/api/v1/models")]
    [TestCase("/v1/chat/completions", "/v1/chat/completions")]
    [TestCase("/v1/messages", "/v1/messages")]
    [TestCase("/v1", "/v1")]
    [TestCase("/v1?x=1", "/v1?x=1")]
    [TestCase("/v1x", "/api/v1x")]
    [TestCase("/v1/api/x", "/v1/api/x")]
    [TestCase("/apix", "/api/apix")]
    [TestCase("/API/tags", "/api/API/tags")]
    [TestCase("/generate", "/api/generate")]
    [TestCase("/chat", "/api/chat")]
    [TestCase("/tags", "/api/tags")]
    [TestCase("/x/y/z", "/api/x/y/z")]
    [TestCase("/a//b", "/api/a//b")]
    [TestCase("/x/...", "/api/x/...")]
    [TestCase("/x/.hidden/a.", "/api/x/.hidden/a.")]
    [TestCase("/x%20y%41", "/api/x%20y%41")]
    public void OriginFormTarget_MappedPerRoutingTable(string target, string forwarded)
    {
        var mapped = RequestTarget.Map(Latin1.Bytes(target));

        Assert.That((mapped.Kind, Forwarded(target, mapped)), Is.EqualTo((TargetKind.Forward, forwarded)));
    }

    [TestCase("/api/generate?stream=false&x=%2F..%2f", "/api/generate?stream=false&x=%2F..%2f")]
    [TestCase("/tags?", "/api/tags?")]
    [TestCase("/api/api/chat?a=/api/b", "/api/chat?a=/api/b")]
    [TestCase("/v1/models?q=a?b", "/v1/models?q=a?b")]
    [TestCase("/x?a=/./b/../c", "/api/x?a=/./b/../c")]
    public void QueryString_KeptByteForByte(string target, string forwarded)
    {
        var mapped = RequestTarget.Map(Latin1.Bytes(target));

        Assert.That(Forwarded(target, mapped), Is.EqualTo(forwarded));
    }

    [TestCase("/", "/api/")]
    [TestCase("/?x=1", "/api/?x=1")]
    [TestCase("http://other.host", "/api/")]
    [TestCase("http://other.host/", "/api/")]
    [TestCase("http://other.host?x=1", "/api/?x=1")]
    public void Root_IsTheLocalHealthCheckAndForwardedAsApiSlash(string target, string forwarded)
    {
        var mapped = RequestTarget.Map(Latin1.Bytes(target));

        Assert.That((mapped.Kind, Forwarded(target, mapped)), Is.EqualTo((TargetKind.Root, forwarded)));
    }

    [Test]
    public void Asterisk_IsAQuestionToTheProxy()
    {
        Assert.That(RequestTarget.Map("*"u8).Kind, Is.EqualTo(TargetKind.Asterisk));
    }

    /// <summary>RFC 9112 §3.2.2: only the path and query of an absolute-form target are used; its host is never contacted.</summary>
    [TestCase("http://other.host/api/tags", "/api/tags")]
    [TestCase("https://other.host:8443/generate?x=1", "/api/generate?x=1")]
    [TestCase("HTTP://Other.Host/v1/models", "/v1/models")]
    [TestCase("http://user:pass@evil.test/api/api/chat", "/api/chat")]
    [TestCase("http://ollama.com/api/ps", "/api/ps")]
    public void AbsoluteFormTarget_OnlyPathAndQueryUsed(string target, string forwarded)
    {
        var mapped = RequestTarget.Map(Latin1.Bytes(target));

        Assert.That((mapped.Kind, Forwarded(target, mapped)), Is.EqualTo((TargetKind.Forward, forwarded)));
    }

    [TestCase("/api/../x", TestName = "{m}(dot-dot segment)")]
    [TestCase("/api/./x", TestName = "{m}(dot segment)")]
    [TestCase("/api/x/..", TestName = "{m}(trailing dot-dot)")]
    [TestCase("/api/x/.", TestName = "{m}(trailing dot)")]
    [TestCase("/..", TestName = "{m}(dot-dot only)")]
    [TestCase("/.", TestName = "{m}(dot only)")]
    [TestCase("/api/%2e%2e/x", TestName = "{m}(%2e%2e)")]
    [TestCase("/api/%2E%2E/x", TestName = "{m}(%2E%2E)")]
    [TestCase("/api/.%2e/x", TestName = "{m}(.%2e)")]
    [TestCase("/api/%2e./x", TestName = "{m}(%2e.)")]
    [TestCase("/api/%2e/x", TestName = "{m}(%2e)")]
    [TestCase("/api/x/%2E", TestName = "{m}(trailing %2E)")]
    [TestCase("/api%2ftags", TestName = "{m}(%2f)")]
    [TestCase("/api%2Ftags", TestName = "{m}(%2F)")]
    [TestCase("/api/..%2fx", TestName = "{m}(..%2f)")]
    [TestCase("/api%5ctags", TestName = "{m}(%5c)")]
    [TestCase("/api%5Ctags", TestName = "{m}(%5C)")]
    [TestCase("/api\\tags", TestName = "{m}(backslash)")]
    [TestCase("/api/tags?x=a\\b", TestName = "{m}(backslash in query)")]
    [TestCase("/api/tags#frag", TestName = "{m}(fragment)")]
    [TestCase("/api/tags?x=1#frag", TestName = "{m}(fragment after query)")]
    [TestCase("/api/%00", TestName = "{m}(%00)")]
    [TestCase("/api/%0a", TestName = "{m}(%0a)")]
    [TestCase("/api/%0D", TestName = "{m}(%0D)")]
    [TestCase("/api/%1f", TestName = "{m}(%1f)")]
    [TestCase("/api/%7F", TestName = "{m}(%7F)")]
    [TestCase("/api/%", TestName = "{m}(lone percent)")]
    [TestCase("/api/%2", TestName = "{m}(truncated escape)")]
    [TestCase("/api/%zz", TestName = "{m}(non-hex escape)")]
    [TestCase("/api/%%32%65", TestName = "{m}(double percent)")]
    [TestCase("api/tags", TestName = "{m}(no leading slash)")]
    [TestCase("ftp://other.host/api/tags", TestName = "{m}(other scheme)")]
    [TestCase("other.host:443", TestName = "{m}(authority-form)")]
    [TestCase("http://other.host/../api/tags", TestName = "{m}(dot-dot in absolute-form)")]
    [TestCase("http://other.host/api/%2e%2e/x", TestName = "{m}(%2e%2e in absolute-form)")]
    [TestCase("http://other.host#frag", TestName = "{m}(fragment in absolute-form)")]
    [TestCase("**", TestName = "{m}(double asterisk)")]
    public void TargetThatCouldReadAsAnotherPath_Rejected400(string target)
    {
        var rejection = Assert.Throws<RequestRejectionException>(() => RequestTarget.Map(Latin1.Bytes(target)));

        Assert.That((rejection.Reason, RequestRejections.StatusCode(rejection.Reason)), Is.EqualTo((RequestRejection.InvalidRequestTarget, 400)));
    }

    private static IEnumerable<TestCaseData> TargetsInHeads() => Cross(
        Case("origin-form", "/generate?x=1", "/api/generate?x=1"),
        Case("repeated prefix", "/api/api/chat", "/api/chat"),
        Case("absolute-form", "http://other.host/v1/models", "/v1/models"));

    /// <summary>The target as the head parser hands it over, from any buffer shape, maps the same.</summary>
    [TestCaseSource(nameof(TargetsInHeads))]
    public void TargetOfParsedHead_MappedPerRoutingTable(string target, string forwarded, BufferShape shape)
    {
        var head = RequestParse.Run($"GET {target} HTTP/1.1\r\nHost: a\r\n\r\n", shape).Head;

        var mapped = RequestTarget.Map(head.Target);

        Assert.That(Latin1.Text(MappedTarget.PrefixBytes(mapped.Prefix)) + Latin1.Text(head.Target[mapped.RestStart..]), Is.EqualTo(forwarded));
    }
}
