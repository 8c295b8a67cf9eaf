using OllamaSocketProxy.Listener.Admin;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Admin;

/// <summary>
/// Bad input never crashes or hangs the admin listener: each case ends in an answer and a close, or a close, and the
/// listener serves the next client. Time passes on an <see cref="ObservedClock"/> where the awaited event is a deadline.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class AdminInputTests
{
    [TestCase("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n", 400)]
    [TestCase("GARBAGE\r\n\r\n", 400)]
    [TestCase("GET /healthz\r\n\r\n", 400)]
    [TestCase("GET /healthz HTTP/1.1\r\n\r\n", 400)] // no Host
    [TestCase("GET /healthz HTTP/2.0\r\nHost: localhost\r\n\r\n", 505)]
    [TestCase("GET /healthz HTTP/1.1\nHost: localhost\n\n", 400)]
    [TestCase("GET /he\x01lthz HTTP/1.1\r\nHost: localhost\r\n\r\n", 400)]
    [TestCase("GET /healthz HTTP/1.1\r\nHost: localhost\r\n bad: fold\r\n\r\n", 400)]
    public async Task MalformedHead_IsRefusedAndTheConnectionClosed(string request, int status)
    {
        await using var admin = AdminHarness.Start();
        var client = await admin.ConnectAsync();

        await client.SendAsync(request);
        var response = await client.ReadResponseAsync();

        ProxyAssert.IsJsonError(response, status);
        await ProxyAssert.ClosesConnectionAsync(client, response);
        await AssertServesAsync(admin);
    }

    [Test]
    public async Task HeadOver8KiB_Is431AndTheConnectionClosed()
    {
        await using var admin = AdminHarness.Start();
        var client = await admin.ConnectAsync();

        await client.SendAsync($"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: {new string('x', 8 * 1024)}\r\n\r\n");
        var response = await client.ReadResponseAsync();

        ProxyAssert.IsJsonError(response, 431);
        await ProxyAssert.ClosesConnectionAsync(client, response);
    }

    [Test]
    public async Task RequestLineOver8KiBSentInPieces_Is414AndTheConnectionClosed()
    {
        await using var admin = AdminHarness.Start();
        var client = await admin.ConnectAsync();

        // As a client trickling a huge line would: refused at the limit, whether or not the line ever ends.
        await client.SendAsync("GET /");
        for (var i = 0; i < 9; i++)
        {
            await client.SendAsync(new string('a', 1024));
        }

        var response = await client.ReadResponseAsync();

        ProxyAssert.IsJsonError(response, 414);
        await ProxyAssert.ClosesConnectionAsync(client, response);
    }

    [Test]
    public async Task HeadNotCompleteWithinTheHeadTimeout_IsClosed()
    {
        var clock = new ObservedClock();
        await using var admin = AdminHarness.Start(time: clock);
        var client = await admin.ConnectAsync();

        await client.SendAsync("GET /healthz HTTP/1.1\r\nHost: localhost\r\n");
        await clock.WaitForArmedAsync(AdminServer.DefaultHeadTimeout);
        clock.Advance(AdminServer.DefaultHeadTimeout);

        Assert.That(await client.ReadUntilClosedAsync(), Is.Empty);
        await EventTimeout.UntilAsync(() => admin.Server.ConnectionCount == 0);
    }

    [Test]
    public async Task IdleKeptAliveConnection_IsClosedAfterTheHeadTimeout()
    {
        var clock = new ObservedClock();
        await using var admin = AdminHarness.Start(time: clock);
        var client = await admin.ConnectAsync();

        await client.SendAsync("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
        await client.ReadResponseAsync();
        await clock.WaitForArmedAsync(AdminServer.DefaultHeadTimeout);
        clock.Advance(AdminServer.DefaultHeadTimeout);

        Assert.That(await client.ReadUntilClosedAsync(), Is.Empty);
    }

    [Test]
    public async Task SlowHeadOnTheRealClock_IsClosed_AndTheNextClientServed()
    {
        await using var admin = AdminHarness.Start(headTimeout: TimeSpan.FromMilliseconds(200));
        var client = await admin.ConnectAsync();

        await client.SendAsync("GET /heal");

        Assert.That(await client.ReadUntilClosedAsync(), Is.Empty);
        await AssertServesAsync(admin);
    }

    [Test]
    public async Task ClientGoneMidHead_EndsItsConnection()
    {
        await using var admin = AdminHarness.Start();
        var client = await admin.ConnectAsync();
        await client.SendAsync("GET /status HTTP/1.1\r\nHo");
        await EventTimeout.UntilAsync(() => admin.Server.ConnectionCount == 1);

        client.Abort();

        await EventTimeout.UntilAsync(() => admin.Server.ConnectionCount == 0);
        await AssertServesAsync(admin);
    }

    [Test]
    public async Task ClientThatHalfClosesAfterItsRequest_IsAnswered()
    {
        await using var admin = AdminHarness.Start();
        var client = await admin.ConnectAsync();

        await client.SendAsync("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
        client.ShutdownSend();
        var response = await client.ReadResponseAsync();

        Assert.That(response.BodyText, Is.EqualTo("ok\n"));
        await ProxyAssert.ClosesConnectionAsync(client, response);
    }

    [Test]
    public async Task BeyondTheConnectionLimit_AConnectionIsClosedUnread_AndServedOnceOneEnds()
    {
        await using var admin = AdminHarness.Start();
        var held = new List<RawClient>();
        for (var i = 0; i < AdminServer.MaxConnections; i++)
        {
            held.Add(await admin.ConnectAsync());
        }

        await EventTimeout.UntilAsync(() => admin.Server.ConnectionCount == AdminServer.MaxConnections);
        var refused = await admin.ConnectAsync();
        Assert.That(await refused.ReadUntilClosedAsync(), Is.Empty);

        held[0].Abort();
        await EventTimeout.UntilAsync(() => admin.Server.ConnectionCount < AdminServer.MaxConnections);
        await AssertServesAsync(admin);
    }

    [Test]
    public async Task Stop_ClosesOpenConnections()
    {
        var admin = AdminHarness.Start();
        await using (admin)
        {
            var idle = await admin.ConnectAsync();
            await EventTimeout.UntilAsync(() => admin.Server.ConnectionCount == 1);

            await admin.Server.StopAsync().OrTimeoutAsync();

            Assert.That(await idle.ReadUntilClosedAsync(), Is.Empty);
            Assert.That(admin.Server.ConnectionCount, Is.Zero);
        }
    }

    private static async Task AssertServesAsync(AdminHarness admin)
    {
        var response = await admin.SendAsync("/healthz");
        Assert.That(response.BodyText, Is.EqualTo("ok\n"), response.Describe());
    }
}
