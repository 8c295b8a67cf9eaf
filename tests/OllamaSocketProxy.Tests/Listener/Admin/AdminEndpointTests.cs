using System.Text.Json;
using System.Text.RegularExpressions;
using OllamaSocketProxy.Listener.Admin;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Listener.Usage;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Admin;

/// <summary>Each admin endpoint over a real socket, reading fake sources (README.md#usage-and-metrics).</summary>
[Parallelizable(ParallelScope.All)]
public sealed partial class AdminEndpointTests
{
    [Test]
    public async Task Start_LogsTheBoundAddress()
    {
        await using var admin = AdminHarness.Start();

        var line = await admin.Logs.WaitForLineAsync(text => text.Contains("Admin listening on", StringComparison.Ordinal));

        Assert.That(line, Does.EndWith($"Admin listening on http://127.0.0.1:{admin.Server.LocalEndPoint.Port}"));
    }

    [Test]
    public async Task Healthz_IsOkAsText()
    {
        await using var admin = AdminHarness.Start();

        var response = await admin.SendAsync("/healthz");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            Assert.That(response.BodyText, Is.EqualTo("ok\n"));
            Assert.That(response.Headers["Content-Type"], Is.EqualTo("text/plain; charset=utf-8"));
            Assert.That(response.Headers["Content-Length"], Is.EqualTo("3"));
            Assert.That(response.Headers["Cache-Control"], Is.EqualTo("no-store"));
            Assert.That(response.Headers.Contains("Date"), Is.True);
        }
    }

    [Test]
    public async Task Readyz_WithTheApiListeningAndAKeyUp_IsReady()
    {
        var keys = new[] { new KeyStatus("key#1", KeyState.Disabled, null, 0), new KeyStatus("key#2", KeyState.Up, null, 0) };
        await using var admin = AdminHarness.Start(AdminHarness.Sources(keys));

        var response = await admin.SendAsync("/readyz");

        Assert.That((response.StatusCode, response.BodyText), Is.EqualTo((200, "ready\n")), response.Describe());
    }

    [Test]
    public async Task Readyz_WithEveryKeyBenchedOrDisabled_Is503SayingSo()
    {
        var keys = new[]
        {
            new KeyStatus("key#1", KeyState.Benched, DateTimeOffset.UtcNow.AddMinutes(1), 1),
            new KeyStatus("key#2", KeyState.Disabled, null, 0),
        };
        await using var admin = AdminHarness.Start(AdminHarness.Sources(keys));

        var response = await admin.SendAsync("/readyz");

        Assert.That((response.StatusCode, response.BodyText), Is.EqualTo((503, "not ready: no upstream key is up (1 benched, 1 disabled)\n")), response.Describe());
    }

    [Test]
    public async Task Readyz_WithTheApiListenerDown_Is503SayingSo()
    {
        await using var admin = AdminHarness.Start(AdminHarness.Sources(listening: false));

        var response = await admin.SendAsync("/readyz");

        Assert.That((response.StatusCode, response.BodyText), Is.EqualTo((503, "not ready: the API listener is not accepting connections\n")), response.Describe());
    }

    [Test]
    public async Task Metrics_IsTheScrapeAsPrometheusText()
    {
        const string scrape = "# HELP up Whether up.\n# TYPE up gauge\nup 1\n";
        await using var admin = AdminHarness.Start(AdminHarness.Sources(metrics: scrape));

        var response = await admin.SendAsync("/metrics");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            Assert.That(response.BodyText, Is.EqualTo(scrape));
            Assert.That(response.Headers["Content-Type"], Is.EqualTo("text/plain; version=0.0.4; charset=utf-8"));
        }
    }

    [Test]
    public async Task MetricsWhoseScrapeThrows_Is500AndLogged()
    {
        var sources = AdminHarness.Sources();
        await using var admin = AdminHarness.Start(new AdminSources
        {
            ScrapeMetrics = _ => throw new AggregateException(new InvalidOperationException("gauge callback failed")),
            UsageState = sources.UsageState,
            Keys = sources.Keys,
            Requests = sources.Requests,
            ClientConnections = sources.ClientConnections,
            IdleUpstreamConnections = sources.IdleUpstreamConnections,
            Listening = sources.Listening,
            Started = sources.Started,
        });

        var response = await admin.SendAsync("/metrics");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(500), response.Describe());
            Assert.That(response.BodyText, Does.Not.Contain("gauge callback failed"));
            Assert.That(admin.Logs.Lines, Has.Some.Contains("the metrics could not be collected"));
        }
    }

    [Test]
    public async Task Status_IsJsonWithTheNamesTheDashboardReads()
    {
        var benchedUntil = new DateTimeOffset(2026, 12, 6, 5, 30, 0, TimeSpan.Zero);
        var keys = new[]
        {
            new KeyStatus("key#1 (…abcd)", KeyState.Up, null, 3),
            new KeyStatus("key#2 (…ef01)", KeyState.Benched, benchedUntil, 7),
            new KeyStatus("key#3 (…2345)", KeyState.Disabled, null, 0),
        };
        await using var admin = AdminHarness.Start(AdminHarness.Sources(keys, usageState: AdminSources.UsageFailing));

        var response = await admin.SendAsync("/status");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        Assert.That(response.Headers["Content-Type"], Is.EqualTo("application/json; charset=utf-8"));
        using var json = JsonDocument.Parse(response.Body);
        var root = json.RootElement;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(root.EnumerateObject().Select(property => property.Name), Is.EqualTo(new[]
            {
                "now", "started", "ready", "requests_in_flight", "client_connections", "upstream_connections", "usage_db", "keys",
            }));
            Assert.That(root.GetProperty("now").GetString(), Does.Match(IsoSecond()));
            Assert.That(root.GetProperty("started").GetString(), Is.EqualTo("2026-12-06T04:00:00Z"));
            Assert.That(root.GetProperty("ready").GetBoolean(), Is.True);
            Assert.That(root.GetProperty("requests_in_flight").GetInt32(), Is.EqualTo(2));
            Assert.That(root.GetProperty("client_connections").GetInt32(), Is.EqualTo(5));
            Assert.That(root.GetProperty("upstream_connections").GetProperty("idle").GetInt32(), Is.EqualTo(1));
            Assert.That(root.GetProperty("upstream_connections").GetProperty("busy").GetInt32(), Is.EqualTo(2));
            Assert.That(root.GetProperty("usage_db").GetString(), Is.EqualTo("failing"));
            Assert.That(root.GetProperty("keys").EnumerateArray().Select(key => (
                key.GetProperty("key").GetString(),
                key.GetProperty("state").GetString(),
                key.GetProperty("benched_until").ValueKind == JsonValueKind.Null ? null : key.GetProperty("benched_until").GetString(),
                key.GetProperty("rate_limited").GetInt64())), Is.EqualTo(new[]
            {
                ("key#1 (…abcd)", "up", (string?)null, 3L),
                ("key#2 (…ef01)", "benched", "2026-12-06T05:30:00Z", 7L),
                ("key#3 (…2345)", "disabled", null, 0L),
            }));
        }
    }

    [TestCase("/")]
    [TestCase("/index.html")]
    [TestCase("http://localhost/")]
    public async Task Dashboard_IsTheEmbeddedPageWithItsSecurityFields(string target)
    {
        await using var admin = AdminHarness.Start();

        var response = await admin.SendAsync(target);

        using var resource = typeof(AdminServer).Assembly.GetManifestResourceStream("dashboard.html")!;
        var page = new byte[resource.Length];
        resource.ReadExactly(page);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            Assert.That(response.Body, Is.EqualTo(page));
            Assert.That(response.Headers["Content-Type"], Is.EqualTo("text/html; charset=utf-8"));
            Assert.That(response.Headers["Cache-Control"], Is.EqualTo("no-store"));
            Assert.That(response.Headers["X-Content-Type-Options"], Is.EqualTo("nosniff"));
            Assert.That(response.Headers["Referrer-Policy"], Is.EqualTo("no-referrer"));
            Assert.That(response.Headers["Content-Security-Policy"], Is.EqualTo(
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; " +
                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"));
        }
    }

    [Test]
    public async Task Usage_IsTheQueryResultAsUsageQueryJsonWritesIt()
    {
        UsageQuery? asked = null;
        var row = new UsageQueryRow { Client = "alice", Model = "gemma3:4b", Requests = 3, PromptTokens = 30 };
        await using var admin = AdminHarness.Start(AdminHarness.Sources(queryUsage: query =>
        {
            asked = query;
            return new UsageQueryResult(query, [row], UsageQueryRow.Total([row]));
        }));

        var response = await admin.SendAsync("/usage?since=2026-12-01&until=2026-12-06T05:00Z&by=hour%2Cclient");

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.Headers["Content-Type"], Is.EqualTo("application/json; charset=utf-8"));
            Assert.That(asked, Is.EqualTo(new UsageQuery(
                new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 12, 6, 5, 0, 0, TimeSpan.Zero),
                UsageGrouping.Hour | UsageGrouping.Client)));
            Assert.That(response.Body, Is.EqualTo(UsageQueryJson.ToUtf8(new UsageQueryResult(asked!, [row], UsageQueryRow.Total([row])))));
        }
    }

    [Test]
    public async Task Usage_WithTheDatabaseOff_Is404SayingSo()
    {
        await using var admin = AdminHarness.Start(AdminHarness.Sources(queryUsage: null));

        var response = await admin.SendAsync("/usage");

        ProxyAssert.IsJsonError(response, 404);
        Assert.That(response.JsonError, Is.EqualTo("the usage database is off (PROXY_USAGE_DB=off)"));
    }

    [Test]
    public async Task Usage_WithABadParameter_Is400SayingWhichAndQuotingNothing()
    {
        await using var admin = AdminHarness.Start(AdminHarness.Sources(queryUsage: _ => throw new AssertionException("not to be queried")));

        var response = await admin.SendAsync("/usage?since=%3Cscript%3E");

        ProxyAssert.IsJsonError(response, 400);
        Assert.That(response.JsonError, Does.StartWith("since takes an age").And.Not.Contain("script"));
    }

    [Test]
    public async Task Usage_WhoseStoreFails_Is503WithItsMessage_AndTheNextQueryRuns()
    {
        var calls = 0;
        var row = new UsageQueryRow { Requests = 1 };
        await using var admin = AdminHarness.Start(AdminHarness.Sources(queryUsage: query =>
            Interlocked.Increment(ref calls) == 1
                ? throw new UsageStoreException("usage.db has schema version 9, which this build does not know")
                : new UsageQueryResult(query, [row], row)));

        var failed = await admin.SendAsync("/usage");
        var next = await admin.SendAsync("/usage");

        ProxyAssert.IsJsonError(failed, 503);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(failed.JsonError, Is.EqualTo("usage.db has schema version 9, which this build does not know"));
            Assert.That(failed.BodyText, Does.Not.Contain(" at "), "no stack trace");
            Assert.That(next.StatusCode, Is.EqualTo(200), next.Describe());
        }
    }

    [Test]
    public async Task Usage_WhoseQueryThrowsSomethingElse_Is503WithoutItsDetails()
    {
        await using var admin = AdminHarness.Start(AdminHarness.Sources(queryUsage: _ => throw new IOException("disk /secret/place failed")));

        var response = await admin.SendAsync("/usage");

        ProxyAssert.IsJsonError(response, 503);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.JsonError, Is.EqualTo("the usage database cannot be read; see the proxy's log"));
            Assert.That(admin.Logs.Lines, Has.Some.Contains("disk /secret/place failed"));
        }
    }

    [TestCase("/healthz")]
    [TestCase("/metrics")]
    [TestCase("/status")]
    [TestCase("/")]
    public async Task Head_HasTheFieldsOfGetAndNoBody(string target)
    {
        await using var admin = AdminHarness.Start();

        var get = await admin.SendAsync(target);
        var client = await admin.ConnectAsync();
        await client.SendAsync($"HEAD {target} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        var head = await client.ReadResponseAsync("HEAD");

        // The next answer on the connection starts right after the head: no body was sent.
        await client.SendAsync("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
        var after = await client.ReadResponseAsync();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(head.StatusCode, Is.EqualTo(200), head.Describe());
            Assert.That(head.Headers["Content-Type"], Is.EqualTo(get.Headers["Content-Type"]));
            Assert.That(head.Headers["Content-Length"], Is.EqualTo(get.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(head.Body, Is.Empty);
            Assert.That(after.BodyText, Is.EqualTo("ok\n"));
        }
    }

    [TestCase("POST", "/metrics", false)]
    [TestCase("DELETE", "/usage", true)]
    [TestCase("OPTIONS", "/", false)]
    [TestCase("FOO", "/healthz", false)]
    public async Task OtherMethods_Are405WithAllow(string method, string target, bool json)
    {
        await using var admin = AdminHarness.Start();

        var response = await admin.SendAsync(target, "Content-Length: 0\r\n", method);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(405), response.Describe());
            Assert.That(response.Headers["Allow"], Is.EqualTo("GET, HEAD"));
            Assert.That(response.Headers["Content-Type"], Does.StartWith(json ? "application/json" : "text/plain"));
        }
    }

    [TestCase("/nothing")]
    [TestCase("/Metrics")]
    [TestCase("/metrics/")]
    [TestCase("/api/tags")]
    public async Task UnknownPath_Is404(string target)
    {
        await using var admin = AdminHarness.Start();

        var response = await admin.SendAsync(target);

        Assert.That(response.StatusCode, Is.EqualTo(404), response.Describe());
        Assert.That(response.BodyText, Does.StartWith("not found"));
    }

    [Test]
    public async Task KeptAlive_ServesSeveralRequestsOnOneConnection_AndClosesAfterConnectionClose()
    {
        await using var admin = AdminHarness.Start();
        var client = await admin.ConnectAsync();

        await client.SendAsync("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /readyz HTTP/1.1\r\nHost: localhost\r\n\r\n");
        var first = await client.ReadResponseAsync();
        var second = await client.ReadResponseAsync();
        await client.SendAsync("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        var last = await client.ReadResponseAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That((first.BodyText, second.BodyText, last.BodyText), Is.EqualTo(("ok\n", "ready\n", "ok\n")));
            Assert.That(first.Head.AnnouncesClose, Is.False);
            Assert.That(last.Head.AnnouncesClose, Is.True);
        }

        await ProxyAssert.ClosesConnectionAsync(client, last);
    }

    [Test]
    public async Task ARequestWithABody_IsAnsweredAndItsConnectionClosed()
    {
        await using var admin = AdminHarness.Start();
        var client = await admin.ConnectAsync();

        // Were the body read as a request, a second answer would follow.
        await client.SendAsync("GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 37\r\n\r\nGET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
        var response = await client.ReadResponseAsync();

        Assert.That(response.Head.AnnouncesClose, Is.True, response.Describe());
        await ProxyAssert.ClosesConnectionAsync(client, response);
    }

    [Test]
    public async Task TheHundredthRequestOnAConnection_IsItsLast()
    {
        await using var admin = AdminHarness.Start();
        var client = await admin.ConnectAsync();

        await client.SendAsync(string.Concat(Enumerable.Repeat("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n", AdminConnection.MaxRequests)));
        RawResponse? response = null;
        for (var i = 1; i <= AdminConnection.MaxRequests; i++)
        {
            response = await client.ReadResponseAsync();
            Assert.That(response.Head.AnnouncesClose, Is.EqualTo(i == AdminConnection.MaxRequests), $"request {i}");
        }

        await ProxyAssert.ClosesConnectionAsync(client, response!);
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")]
    private static partial Regex IsoSecond();
}
