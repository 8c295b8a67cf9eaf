using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using OllamaSocketProxy.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;

namespace OllamaSocketProxy.Tests.Clients;

/// <summary>The OpenAI .NET SDK pointed at the proxy's /v1, with the proxy token as its API key.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class OpenAiClientTests
{
    [Test]
    public async Task ChatCompletion_ReturnsTheAnswer()
    {
        await using var proxy = await StartAsync();
        using var http = new HttpClient();

        ChatCompletion completion = await ChatClient(proxy, http).CompleteChatAsync([new UserChatMessage("Hi")]);

        Assert.That(completion.Content.Single().Text, Is.EqualTo(FakeOllamaApi.Answer));
        AssertForwardedWithKey(proxy, "POST /v1/chat/completions HTTP/1.1");
    }

    [Test]
    public async Task ChatCompletionStreaming_ReturnsEveryDelta()
    {
        await using var proxy = await StartAsync();
        using var http = new HttpClient();

        var answer = new StringBuilder();
        await foreach (var update in ChatClient(proxy, http).CompleteChatStreamingAsync([new UserChatMessage("Hi")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                answer.Append(part.Text);
            }
        }

        Assert.That(answer.ToString(), Is.EqualTo(FakeOllamaApi.Answer));
        AssertForwardedWithKey(proxy, "POST /v1/chat/completions HTTP/1.1");
        Assert.That(proxy.Origin.Requests.Single().BodyText, Does.Contain("\"stream\":true"));
    }

    [Test]
    public async Task ListModels_ReturnsTheModels()
    {
        await using var proxy = await StartAsync();
        using var http = new HttpClient();

        OpenAIModelCollection models = await new OpenAIModelClient(new ApiKeyCredential(proxy.Token), Options(proxy, http)).GetModelsAsync();

        Assert.That(models.Select(model => model.Id), Is.EqualTo(new[] { "llama3.2:latest", "gpt-oss:120b" }));
        AssertForwardedWithKey(proxy, "GET /v1/models HTTP/1.1");
    }

    [Test]
    public async Task WrongApiKey_IsRejectedWith401AndNothingReachesUpstream()
    {
        await using var proxy = await StartAsync();
        using var http = new HttpClient();

        var client = new ChatClient(FakeOllamaApi.Model, new ApiKeyCredential("not-the-token"), Options(proxy, http));
        var failure = Assert.ThrowsAsync<ClientResultException>(async () => await client.CompleteChatAsync([new UserChatMessage("Hi")]));

        Assert.That(failure?.Status, Is.EqualTo(401));
        Assert.That(proxy.Origin.Requests, Is.Empty);
    }

    private static Task<ProxyHarness> StartAsync() => ProxyHarness.StartAsync(TestUpstream.StartTls(FakeOllamaApi.HandleAsync));

    private static ChatClient ChatClient(ProxyHarness proxy, HttpClient http) =>
        new(FakeOllamaApi.Model, new ApiKeyCredential(proxy.Token), Options(proxy, http));

    private static OpenAIClientOptions Options(ProxyHarness proxy, HttpClient http) => new()
    {
        Endpoint = new Uri($"http://127.0.0.1:{proxy.EndPoint.Port}/v1"),
        Transport = new HttpClientPipelineTransport(http),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        NetworkTimeout = EventTimeout.Limit,
    };

    private static void AssertForwardedWithKey(ProxyHarness proxy, string requestLine)
    {
        var forwarded = proxy.Origin.Requests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(forwarded.RequestLine, Is.EqualTo(requestLine));
            Assert.That(forwarded.Headers.All("Authorization"), Is.EqualTo(new[] { $"Bearer {proxy.ApiKey}" }));
        }
    }
}
