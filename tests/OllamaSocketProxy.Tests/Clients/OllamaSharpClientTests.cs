using System.Net.Http.Headers;
using System.Text;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Chat;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Clients;

/// <summary>OllamaSharp, configured as its users do, talking through the proxy to a fake of Ollama's API.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class OllamaSharpClientTests
{
    [Test]
    public async Task ChatStreaming_ReturnsEveryPieceOfTheAnswer()
    {
        await using var proxy = await StartAsync();
        using var http = AuthorizedHttpClient(proxy);
        using var ollama = new OllamaApiClient(http, FakeOllamaApi.Model);

        var answer = new StringBuilder();
        var chat = new ChatRequest { Model = FakeOllamaApi.Model, Messages = [new Message(ChatRole.User, "Hi")], Stream = true };
        await foreach (var part in ollama.ChatAsync(chat))
        {
            answer.Append(part?.Message.Content);
        }

        Assert.That(answer.ToString(), Is.EqualTo(FakeOllamaApi.Answer));
        AssertForwardedWithKey(proxy, "POST /api/chat HTTP/1.1");
    }

    [Test]
    public async Task ChatWithoutStreaming_ReturnsTheAnswer()
    {
        await using var proxy = await StartAsync();
        using var http = AuthorizedHttpClient(proxy);
        using var ollama = new OllamaApiClient(http, FakeOllamaApi.Model);

        var chat = new ChatRequest { Model = FakeOllamaApi.Model, Messages = [new Message(ChatRole.User, "Hi")], Stream = false };
        var parts = new List<ChatResponseStream?>();
        await foreach (var part in ollama.ChatAsync(chat))
        {
            parts.Add(part);
        }

        Assert.That(parts.Select(part => part?.Message.Content), Is.EqualTo(new[] { FakeOllamaApi.Answer }));
        AssertForwardedWithKey(proxy, "POST /api/chat HTTP/1.1");
        Assert.That(proxy.Origin.Requests.Single().BodyText, Does.Contain("\"stream\":false"));
    }

    [Test]
    public async Task Generate_ReturnsEveryPieceOfTheAnswer()
    {
        await using var proxy = await StartAsync();
        using var http = AuthorizedHttpClient(proxy);
        using var ollama = new OllamaApiClient(http, FakeOllamaApi.Model);

        var answer = new StringBuilder();
        await foreach (var part in ollama.GenerateAsync(new GenerateRequest { Model = FakeOllamaApi.Model, Prompt = "Hi" }))
        {
            answer.Append(part?.Response);
        }

        Assert.That(answer.ToString(), Is.EqualTo(FakeOllamaApi.Answer));
        AssertForwardedWithKey(proxy, "POST /api/generate HTTP/1.1");
    }

    [Test]
    public async Task ListLocalModels_ReturnsTheModels()
    {
        await using var proxy = await StartAsync();
        using var http = AuthorizedHttpClient(proxy);
        using var ollama = new OllamaApiClient(http, FakeOllamaApi.Model);

        var models = await ollama.ListLocalModelsAsync();

        Assert.That(models.Select(model => model.Name), Is.EqualTo(new[] { "llama3.2:latest" }));
        AssertForwardedWithKey(proxy, "GET /api/tags HTTP/1.1");
    }

    [Test]
    public async Task ShowModel_ReturnsItsDetails()
    {
        await using var proxy = await StartAsync();
        using var http = AuthorizedHttpClient(proxy);
        using var ollama = new OllamaApiClient(http, FakeOllamaApi.Model);

        var shown = await ollama.ShowModelAsync(new ShowModelRequest { Model = FakeOllamaApi.Model });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(shown.Modelfile, Is.EqualTo("FROM llama3.2"));
            Assert.That(shown.Details?.Family, Is.EqualTo("llama"));
        }

        AssertForwardedWithKey(proxy, "POST /api/show HTTP/1.1");
    }

    [Test]
    public async Task Embed_ReturnsOneVectorPerInput()
    {
        await using var proxy = await StartAsync();
        using var http = AuthorizedHttpClient(proxy);
        using var ollama = new OllamaApiClient(http, FakeOllamaApi.Model);

        var embedded = await ollama.EmbedAsync(new EmbedRequest { Model = "all-minilm", Input = ["first", "second"] });

        Assert.That(embedded.Embeddings.Select(vector => vector.Length), Is.EqualTo(new[] { 3, 3 }));
        AssertForwardedWithKey(proxy, "POST /api/embed HTTP/1.1");
    }

    [Test]
    public async Task IsRunning_IsAnsweredByTheProxyWithoutAToken()
    {
        await using var proxy = await StartAsync();
        using var http = new HttpClient { BaseAddress = proxy.BaseAddress, Timeout = EventTimeout.Limit };
        using var ollama = new OllamaApiClient(http, FakeOllamaApi.Model);

        Assert.That(await ollama.IsRunningAsync(), Is.True);
        Assert.That(proxy.Origin.Requests, Is.Empty);
    }

    private static Task<ProxyHarness> StartAsync() => ProxyHarness.StartAsync(TestUpstream.StartTls(FakeOllamaApi.HandleAsync));

    /// <summary>
    /// The HttpClient as OllamaSharp's users configure it for a server that wants a bearer token. Disposed by the
    /// test (OllamaApiClient leaves a given HttpClient open), so no idle keep-alive connection outlives it.
    /// </summary>
    private static HttpClient AuthorizedHttpClient(ProxyHarness proxy)
    {
        var http = new HttpClient { BaseAddress = proxy.BaseAddress, Timeout = EventTimeout.Limit };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", proxy.Token);
        return http;
    }

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
