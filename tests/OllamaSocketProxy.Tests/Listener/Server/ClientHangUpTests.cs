using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Server;

/// <summary>
/// A client that hangs up in the middle of its upload (reset or close) leaves no request behind: the upstream
/// connection it was streaming to is aborted, never completed, and never returned to the pool, so the next request
/// opens a new one (docs/BEHAVIOUR.md#request-body-framing).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ClientHangUpTests
{
    public enum HangUp
    {
        Reset,
        Close,
    }

    [TestCase(HangUp.Reset, false)]
    [TestCase(HangUp.Close, false)]
    [TestCase(HangUp.Reset, true)]
    [TestCase(HangUp.Close, true)]
    public async Task ClientHangsUpMidUpload_UpstreamConnectionIsAbortedAndNeverReused(HangUp hangUp, bool chunked)
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());
        var client = await proxy.ConnectAsync();
        var data = new string('u', 4000);
        var firstPart = chunked ? $"{data.Length:x}\r\n{data}\r\n" : data;

        // Content-Length above the 64 KiB the proxy holds whole, so the body streams as it arrives.
        await client.SendAsync(
            $"POST /api/chat HTTP/1.1\r\nHost: proxy.test\r\n{proxy.AuthorizationField}"
            + (chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Content-Length: 100000\r\n\r\n")
            + firstPart);
        var upload = await proxy.Origin.WaitForConnectionAsync(1);
        Assert.That(await proxy.Origin.WaitForBodyBytesAsync(upload, firstPart.Length), Is.True, "The start of the upload never reached the upstream.");
        if (hangUp == HangUp.Reset)
        {
            client.Abort();
        }
        else
        {
            await client.DisposeAsync();
        }

        await upload.ClosedByProxy.OrTimeoutAsync();
        var next = await proxy.SendAsync(proxy.Get("/api/tags"));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(upload.ResetByProxy, Is.True, "The upstream connection was closed, not aborted.");
            Assert.That(proxy.Origin.IncompleteRequests, Has.Count.EqualTo(1));
            Assert.That(next.StatusCode, Is.EqualTo(200), next.Describe());
            Assert.That(proxy.Origin.Requests.Select(request => (request.Target, request.ConnectionId)), Is.EqualTo(new[] { ("/api/tags", 2) }),
                "The aborted upload completed upstream, or its connection carried the next request.");
        }
    }
}
