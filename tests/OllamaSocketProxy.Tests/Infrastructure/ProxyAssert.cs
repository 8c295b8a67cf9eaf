namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>Assertions shared by many end-to-end tests.</summary>
public static class ProxyAssert
{
    /// <summary>
    /// An error made by the proxy itself: the status, JSON in Ollama's shape <c>{"error":"…"}</c>
    /// (docs/BEHAVIOUR.md#errors).
    /// </summary>
    public static void IsJsonError(RawResponse response, int status)
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(response.StatusCode, Is.EqualTo(status), response.Describe());
            Assert.That(response.Headers["Content-Type"], Does.StartWith("application/json"), response.Describe());
            Assert.That(response.JsonError, Is.Not.Null.And.Not.Empty, response.Describe());
            Assert.That(response.IsComplete, Is.True, response.Describe());
        }
    }

    /// <summary>The proxy closes the connection after the response (and sends nothing more).</summary>
    public static async Task ClosesConnectionAsync(RawClient client, RawResponse response)
    {
        byte[] after;
        try
        {
            after = await client.ReadUntilClosedAsync();
        }
        catch (TimeoutException)
        {
            Assert.Fail($"The proxy kept the connection open after:\r\n{response.Describe()}");
            return;
        }

        Assert.That(after, Is.Empty, $"The proxy sent more after:\r\n{response.Describe()}");
    }
}
