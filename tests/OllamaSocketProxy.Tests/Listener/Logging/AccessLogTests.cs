using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Logging;

/// <summary>One access-log line per request: client, method, forwarded path, status (docs/BEHAVIOUR.md#operations).</summary>
[Parallelizable(ParallelScope.All)]
public sealed class AccessLogTests
{
    [Test]
    public async Task EachRequest_IsAccessLoggedWithClientMethodMappedPathAndStatus()
    {
        await using var proxy = await ProxyHarness.StartAsync(TestUpstream.StartTls());

        var response = await proxy.SendAsync(proxy.Get("/tags"));

        Assert.That(response.StatusCode, Is.EqualTo(200), response.Describe());
        await proxy.Logs.WaitForLineAsync(line =>
            line.Contains("127.0.0.1", StringComparison.Ordinal) && line.Contains("GET", StringComparison.Ordinal)
            && line.Contains("/api/tags", StringComparison.Ordinal) && line.Contains("200", StringComparison.Ordinal));
    }
}
