using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// RFC 9112 §6–§7: request bodies are relayed exactly; ambiguous framing is refused
/// (docs/BEHAVIOUR.md#request-body-framing).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestBodyFramingTests
{
    [Test]
    public async Task ContentLengthBody_IsRelayedExactly()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        byte[] body = [.. Encoding.UTF8.GetBytes("""{"prompt":"caf\u00e9 \ud83e\udd99"}"""), 0, 1, 0xFF, (byte)'\r', (byte)'\n'];
        var client = await proxy.ConnectAsync();

        await client.SendAsync([.. Encoding.Latin1.GetBytes($"POST /api/generate HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Length: {body.Length}\r\n\r\n"), .. body]);
        var response = await client.ReadResponseAsync("POST");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var forwarded = proxy.Origin.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(forwarded.RawBody, Is.EqualTo(body));
            Assert.That(forwarded.Headers.All("Content-Length"), Is.EqualTo(new[] { body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
            Assert.That(forwarded.Headers.Contains("Transfer-Encoding"), Is.False);
        }
    }

    [Test]
    public async Task ContentLengthBodyInSeveralWrites_IsRelayedExactly()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"POST /api/generate HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Length: 12\r\n\r\n");
        await client.SendAsync("hello");
        await client.SendAsync(" world!");
        var response = await client.ReadResponseAsync("POST");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(proxy.Origin.Requests.Single().BodyText, Is.EqualTo("hello world!"));
    }

    [Test]
    public async Task LargeContentLengthBody_IsStreamedExactly()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var body = new byte[1024 * 1024 + 7];
        new Random(42).NextBytes(body);
        var client = await proxy.ConnectAsync();

        await client.SendAsync([.. Encoding.Latin1.GetBytes($"POST /api/embed HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Length: {body.Length}\r\n\r\n"), .. body]);
        var response = await client.ReadResponseAsync("POST");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(proxy.Origin.Requests.Single().RawBody, Is.EqualTo(body));
    }

    [Test]
    public async Task EmptyContentLengthBody_IsForwardedWithoutBody()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync($"POST /api/pull HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Length: 0\r\n\r\n");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var forwarded = proxy.Origin.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(forwarded.RawBody, Is.Empty);
            Assert.That(forwarded.Headers["Content-Length"], Is.EqualTo("0"));
        }
    }

    [Test]
    public async Task PipelinedRequestAfterABody_StartsExactlyWhereTheBodyEnds()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync(
            $"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Length: 4\r\n\r\nGET " +
            $"POST /api/generate HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Transfer-Encoding: chunked\r\n\r\n3\r\nGET\r\n0\r\n\r\n" +
            proxy.Get("/api/tags"));
        var responses = new[] { await client.ReadResponseAsync("POST"), await client.ReadResponseAsync("POST"), await client.ReadResponseAsync() };

        Assert.That(responses.Select(response => response.BodyText), Is.EqualTo(new[]
        {
            """{"target":"/api/chat"}""", """{"target":"/api/generate"}""", """{"target":"/api/tags"}""",
        }));
        Assert.That(proxy.Origin.Requests.Select(request => request.BodyText), Is.EqualTo(new[] { "GET ", "GET", "" }));
    }

    [Test]
    public async Task ChunkedBody_IsRelayedWithTheClientsChunkSizes()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        const string chunks = "3\r\nabc\r\nA\r\n0123456789\r\n1b\r\n{\"x\":\"0123456789012345678\"}\r\n0\r\n\r\n";

        var response = await proxy.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Transfer-Encoding: chunked\r\n\r\n{chunks}");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var forwarded = proxy.Origin.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Encoding.Latin1.GetString(forwarded.RawBody), Is.EqualTo(chunks));
            Assert.That(forwarded.Headers.All("Transfer-Encoding"), Is.EqualTo(new[] { "chunked" }));
            Assert.That(forwarded.Headers.Contains("Content-Length"), Is.False);
        }
    }

    [Test]
    public async Task ChunkedBodyTrailers_AreDroppedAndTheLastChunkGoesUpBare()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(
            $"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Trailer: X-Checksum\r\nTransfer-Encoding: chunked\r\n\r\n" +
            "5\r\nhello\r\n0\r\nX-Checksum: 1234\r\nX-Other: 5\r\n\r\n");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        var forwarded = proxy.Origin.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Encoding.Latin1.GetString(forwarded.RawBody), Is.EqualTo("5\r\nhello\r\n0\r\n\r\n"));
            Assert.That(forwarded.Headers.Contains("Trailer"), Is.False);
        }
    }

    [Test]
    public async Task ContentLengthAndTransferEncoding_Gets400AndCloseAndNothingReachesUpstream()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync(
            $"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" +
            "0\r\n\r\n" + proxy.Get("/api/smuggled"));
        var response = await client.ReadResponseAsync("POST");

        ProxyAssert.IsJsonError(response, 400);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [TestCase("Transfer-Encoding: xchunked")]
    [TestCase("Transfer-Encoding: chunked, gzip")]
    [TestCase("Transfer-Encoding: identity")]
    [TestCase("Transfer-Encoding: chunked, chunked")]
    [TestCase("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked")]
    [TestCase("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip")]
    [TestCase("Transfer-Encoding: \"chunked\"")]
    [TestCase("Transfer-Encoding: chunked;q=1")]
    [TestCase("Transfer-Encoding:")]
    public async Task TransferEncodingNotEndingInChunked_Gets400AndCloseAndNothingReachesUpstream(string fields)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}{fields}\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        var response = await client.ReadResponseAsync("POST");

        ProxyAssert.IsJsonError(response, 400);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [TestCase("Transfer-Encoding: gzip, chunked")]
    [TestCase("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked")]
    public async Task ChunkedAfterAnotherCoding_Gets501AndNothingReachesUpstream(string fields)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}{fields}\r\n\r\n5\r\nhello\r\n0\r\n\r\n");

        ProxyAssert.IsJsonError(response, 501);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [TestCase("Content-Length: +5")]
    [TestCase("Content-Length: -5")]
    [TestCase("Content-Length: 5 5")]
    [TestCase("Content-Length: 0x5")]
    [TestCase("Content-Length: 5a")]
    [TestCase("Content-Length: 5.0")]
    [TestCase("Content-Length: 1e1")]
    [TestCase("Content-Length: 99999999999999999999")]
    [TestCase("Content-Length: 9223372036854775808")]
    [TestCase("Content-Length:")]
    [TestCase("Content-Length: 5, 6")]
    [TestCase("Content-Length: 5\r\nContent-Length: 6")]
    public async Task MalformedOrDifferingContentLength_Gets400AndCloseAndNothingReachesUpstream(string fields)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}{fields}\r\n\r\nhello");
        var response = await client.ReadResponseAsync("POST");

        ProxyAssert.IsJsonError(response, 400);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        await proxy.AssertNothingElseReachedUpstreamAsync();
    }

    [Test]
    public async Task ExpectContinue_Gets100AfterAuthenticationAndThenTheBodyFlows()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Expect: 100-continue\r\nContent-Length: 5\r\n\r\n");
        var interim = await client.ReadHeadAsync();
        await client.SendAsync("hello");
        var response = await client.ReadResponseAsync("POST");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(interim.StatusLine, Does.StartWith("HTTP/1.1 100"), interim.Text);
            Assert.That(response.Interim.Select(head => head.StatusCode), Is.All.EqualTo(100), "A second 100 Continue at most, never another 1xx.");
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            Assert.That(proxy.Origin.Requests.Single().BodyText, Is.EqualTo("hello"));
        }
    }

    [Test]
    public async Task ChunkedBodyEndingEarly_IsNeverCompletedUpstream()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
        await proxy.Origin.WaitForRequestHeadsAsync(1);
        var upstream = await proxy.Origin.WaitForConnectionAsync(1);
        client.Abort();
        await upstream.ClosedByProxy.OrTimeoutAsync();

        Assert.That(proxy.Origin.Requests, Is.Empty, "The upstream received a complete request although the client's body ended early.");
    }

    [Test]
    public async Task BrokenChunkAfterForwardingStarted_AbortsTheUpstreamRequest()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();

        await client.SendAsync($"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
        await proxy.Origin.WaitForRequestHeadsAsync(1);
        var upstream = await proxy.Origin.WaitForConnectionAsync(1);
        await client.SendAsync("zz\r\nbroken\r\n0\r\n\r\n");
        var response = await client.TryReadResponseAsync("POST");
        await upstream.ClosedByProxy.OrTimeoutAsync();

        Assert.That(proxy.Origin.Requests, Is.Empty, "The upstream received a complete request although the client's chunk framing broke.");
        Assert.That(proxy.Origin.IncompleteRequests.Select(Encoding.Latin1.GetString), Has.None.Contains("zz"), "The broken chunk was relayed upstream.");
        if (response is not null)
        {
            ProxyAssert.IsJsonError(response, 400);
        }
    }
}
