using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// Several upstream keys through the real proxy (README.md#several-clients-and-keys): requests spread over the keys,
/// an upstream 429 benches its key and the request goes at once on the next, a 401 disables its key, and when every
/// key is benched the proxy answers 429 itself. Logs name a key only as <c>key#N (…last4)</c>.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed partial class KeyPoolEndToEndTests
{
    /// <summary>What Ollama Cloud answers when an account's session allowance is spent: no Retry-After, no reset time.</summary>
    private const string SessionLimit =
        """{"error":"you (x) have reached your session usage limit, upgrade for higher limits: https://ollama.com/upgrade"}""";

    private const string ChatBody = """{"model":"gpt-oss:120b","messages":[{"role":"user","content":"hi"}]}""";

    private static readonly DateTimeOffset Start = new(2026, 3, 15, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public async Task TwoKeysWithSpaces_AreTrimmedAndTakenInTurn()
    {
        var (one, two) = NewKeys();
        await using var gateway = await GatewayHarness.StartAsync(null, [], apiKeys: $"  {one} ,\t{two}  ");

        for (var i = 0; i < 4; i++)
        {
            var response = await gateway.SendAsync(gateway.Get(null, $"/api/tags?n={i}"));
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        }

        Assert.That(gateway.Origin.Requests.Select(request => request.Headers["Authorization"]),
            Is.EqualTo(new[] { $"Bearer {one}", $"Bearer {two}", $"Bearer {one}", $"Bearer {two}" }));
    }

    [Test]
    public async Task RateLimitedKey_RequestIsRetriedOnTheNextKeyAndTheKeyIsBenched()
    {
        var (one, two) = NewKeys();
        await using var gateway = await GatewayHarness.StartAsync(AnswerFor(one, 429, SessionLimit), [], apiKeys: $"{one},{two}");

        var response = await gateway.SendAsync(gateway.Post(null, "/api/chat", ChatBody));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
            Assert.That(response.BodyText, Is.EqualTo(ServedBy(two)));
            Assert.That(Encoding.Latin1.GetString(response.Head.Raw), Does.Not.Contain("429"));
            var sent = gateway.Origin.Requests;
            Assert.That(sent.Select(request => request.Headers["Authorization"]), Is.EqualTo(new[] { $"Bearer {one}", $"Bearer {two}" }));
            Assert.That(sent.Select(request => request.BodyText), Is.EqualTo(new[] { ChatBody, ChatBody }));
        }

        // The benched key is passed over from now on.
        for (var i = 0; i < 3; i++)
        {
            var later = await gateway.SendAsync(gateway.Post(null, "/api/chat", ChatBody));
            Assert.That(later.BodyText, Is.EqualTo(ServedBy(two)), later.Describe());
        }

        Assert.That(gateway.Origin.Requests.Skip(2).Select(request => request.Headers["Authorization"]), Is.All.EqualTo($"Bearer {two}"));
        await gateway.WaitForAccessLineAsync("POST /api/chat", 200);
        AssertLoggedOnce(gateway, $"Upstream {gateway.KeyLabel(1)} rate limited (session limit)");
        AssertKeysNamedOnlyByLabel(gateway);
    }

    [TestCase(401)]
    [TestCase(403)]
    public async Task RefusedKey_IsDisabledAndTheRequestRetriedOnTheNextKey(int status)
    {
        var (one, two) = NewKeys();
        await using var gateway = await GatewayHarness.StartAsync(AnswerFor(one, status, """{"error":"unauthorized"}"""), [], apiKeys: $"{one},{two}");

        var responses = new List<RawResponse>();
        for (var i = 0; i < 3; i++)
        {
            responses.Add(await gateway.SendAsync(gateway.Post(null, "/api/generate", ChatBody)));
        }

        Assert.That(responses.Select(response => response.BodyText), Is.All.EqualTo(ServedBy(two)));
        Assert.That(gateway.Origin.Requests.Select(request => request.Headers["Authorization"]),
            Is.EqualTo(new[] { $"Bearer {one}", $"Bearer {two}", $"Bearer {two}", $"Bearer {two}" }));
        AssertLoggedOnce(gateway, $"Upstream {gateway.KeyLabel(1)} disabled until restart: the upstream answered {status}");
        AssertKeysNamedOnlyByLabel(gateway);
    }

    [Test]
    public async Task EveryKeyRefused_Gets502AndNothingMoreReachesUpstream()
    {
        var (one, two) = NewKeys();
        await using var gateway = await GatewayHarness.StartAsync(
            exchange => exchange.RespondAsync(401, "application/json; charset=utf-8", """{"error":"unauthorized"}"""), [], apiKeys: $"{one},{two}");

        var first = await gateway.SendAsync(gateway.Post(null, "/api/chat", ChatBody));
        var second = await gateway.SendAsync(gateway.Post(null, "/api/generate", ChatBody));

        foreach (var response in new[] { first, second })
        {
            ProxyAssert.IsJsonError(response, 502);
            Assert.That(response.JsonError, Is.EqualTo("all upstream keys were refused by the upstream (401 or 403); check OLLAMA_API_KEY"));
            Assert.That(response.Headers.Contains("Retry-After"), Is.False, response.Describe());
        }

        Assert.That(gateway.Origin.Requests.Select(request => request.Target), Is.EqualTo(new[] { "/api/chat", "/api/chat" }));
        AssertLoggedOnce(gateway, $"Upstream {gateway.KeyLabel(1)} disabled");
        AssertLoggedOnce(gateway, $"Upstream {gateway.KeyLabel(2)} disabled");
    }

    [Test]
    public async Task EveryKeyBenched_Gets429WithRetryAfterAndNothingReachesUpstream()
    {
        var clock = new FakeTimeProvider(Start);
        var (one, two) = NewKeys();
        var limited = true;
        await using var gateway = await GatewayHarness.StartAsync(
            exchange => Volatile.Read(ref limited)
                ? exchange.RespondAsync(429, "application/json; charset=utf-8", SessionLimit)
                : UpstreamResponses.EchoTargetAsync(exchange),
            [], apiKeys: $"{one},{two}", timeProvider: clock);

        // Both keys draw a session limit: 15 minutes on the bench each (the first step of the ladder).
        var first = await gateway.SendAsync(gateway.Post(null, "/api/chat", ChatBody));
        var second = await gateway.SendAsync(gateway.Post(null, "/api/generate", ChatBody));

        foreach (var response in new[] { first, second })
        {
            ProxyAssert.IsJsonError(response, 429);
            Assert.That(response.Headers["Retry-After"], Is.EqualTo("900"));
            Assert.That(response.BodyText, Is.EqualTo("""{"error":"all upstream keys are rate limited; next in 900 s"}"""));
        }

        clock.Advance(TimeSpan.FromSeconds(600));
        var third = await gateway.SendAsync(gateway.Post(null, "/api/generate", ChatBody));
        Assert.That(third.BodyText, Is.EqualTo("""{"error":"all upstream keys are rate limited; next in 300 s"}"""));
        Assert.That(third.Headers["Retry-After"], Is.EqualTo("300"));

        // When the first key is back, requests go up again; until then only the first request went, once per key.
        Volatile.Write(ref limited, false);
        clock.Advance(TimeSpan.FromSeconds(300));
        await gateway.AssertNothingElseReachedUpstreamAsync(null, "/api/chat", "/api/chat");
        AssertLoggedOnce(gateway, $"Upstream {gateway.KeyLabel(1)} rate limited");
        AssertLoggedOnce(gateway, $"Upstream {gateway.KeyLabel(2)} rate limited");
        AssertLoggedOnce(gateway, $"Upstream {gateway.KeyLabel(1)} back in service");
        AssertKeysNamedOnlyByLabel(gateway);
    }

    [Test]
    public async Task BodyLargerThanTheHeldLimit_ItsRateLimitIsRelayedAndTheKeyBenched()
    {
        var (one, two) = NewKeys();
        await using var gateway = await GatewayHarness.StartAsync(AnswerFor(one, 429, SessionLimit), [], apiKeys: $"{one},{two}");

        // 1 MiB + 1: streamed upstream, not held, so it cannot be sent again.
        var prompt = new string('a', (1024 * 1024) + 1 - """{"model":"gpt-oss:120b","prompt":""}""".Length);
        var body = $$"""{"model":"gpt-oss:120b","prompt":"{{prompt}}"}""";
        Assert.That(body, Has.Length.EqualTo((1024 * 1024) + 1));
        var response = await gateway.SendAsync(gateway.Post(null, "/api/generate", body));

        Assert.That(response.StatusCode, Is.EqualTo(429), response.Describe());
        Assert.That(response.BodyText, Is.EqualTo(SessionLimit));
        Assert.That(gateway.Origin.Requests.Select(request => request.Headers["Authorization"]), Is.EqualTo(new[] { $"Bearer {one}" }));

        var next = await gateway.SendAsync(gateway.Post(null, "/api/generate", ChatBody));
        Assert.That(next.BodyText, Is.EqualTo(ServedBy(two)), next.Describe());
    }

    [Test]
    public async Task HeldBodyAtTheLimit_IsRetriedOnTheNextKey()
    {
        var (one, two) = NewKeys();
        await using var gateway = await GatewayHarness.StartAsync(AnswerFor(one, 429, SessionLimit), [], apiKeys: $"{one},{two}");

        var prompt = new string('a', (1024 * 1024) - """{"model":"gpt-oss:120b","prompt":""}""".Length);
        var body = $$"""{"model":"gpt-oss:120b","prompt":"{{prompt}}"}""";
        var response = await gateway.SendAsync(gateway.Post(null, "/api/generate", body));

        Assert.That(response.BodyText, Is.EqualTo(ServedBy(two)), response.Describe());
        Assert.That(gateway.Origin.Requests.Select(request => request.BodyText), Is.EqualTo(new[] { body, body }));
    }

    private static (string One, string Two) NewKeys() => ($"sk-one-{Guid.NewGuid():N}", $"sk-two-{Guid.NewGuid():N}");

    private static string ServedBy(string key) => $$"""{"served_by":"{{key[..6]}}"}""";

    /// <summary>Answers <paramref name="status"/> to requests with <paramref name="key"/>, and 200 naming the key to others.</summary>
    private static Func<UpstreamExchange, Task> AnswerFor(string key, int status, string body) => exchange =>
    {
        var used = exchange.Request.Headers["Authorization"]![7..];
        return used == key
            ? exchange.RespondAsync(status, "application/json; charset=utf-8", body)
            : exchange.RespondAsync(200, "application/json; charset=utf-8", ServedBy(used));
    };

    private static void AssertLoggedOnce(GatewayHarness gateway, string text) =>
        Assert.That(gateway.Logs.Lines.Count(line => line.Contains(text, StringComparison.Ordinal)), Is.EqualTo(1),
            $"Expected one line with '{text}'; the proxy logged:\n{string.Join("\n", gateway.Logs.Lines)}");

    /// <summary>Every mention of a key is its label: position and last four characters, nothing more.</summary>
    private static void AssertKeysNamedOnlyByLabel(GatewayHarness gateway)
    {
        foreach (var line in gateway.Logs.Lines)
        {
            foreach (Match mention in KeyMention().Matches(line))
            {
                Assert.That(mention.Value, Is.EqualTo(gateway.KeyLabel(int.Parse(mention.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))), line);
            }

            foreach (var key in gateway.Keys)
            {
                Assert.That(line, Does.Not.Contain(key[..^4]), "A key's characters beyond its last four appeared in a log line.");
            }
        }
    }

    [GeneratedRegex(@"key#([0-9]+)(?: \(…[^)]*\))?")]
    private static partial Regex KeyMention();
}
