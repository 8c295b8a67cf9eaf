using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using OllamaSharp;
using OllamaSharp.Models.Chat;
using OllamaSocketProxy.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// The ecosystem's client libraries, configured as their users do, with a restricted client's own token: the model it
/// may use works, another raises the library's own error carrying the proxy's 403.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class EcosystemClientsEndToEndTests
{
    private const string Refused = "gpt-oss:120b";

    [Test]
    public async Task OllamaSharpWithClientToken_AllowedModelChats()
    {
        var kids = new GatewayClient("kids", models: [FakeOllamaApi.Model]);
        await using var gateway = await GatewayHarness.StartAsync(FakeOllamaApi.HandleAsync, [kids]);
        using var http = AuthorizedHttpClient(gateway, kids);
        using var ollama = new OllamaApiClient(http, FakeOllamaApi.Model);

        var answer = new StringBuilder();
        await foreach (var part in ollama.ChatAsync(new ChatRequest { Model = FakeOllamaApi.Model, Messages = [new Message(ChatRole.User, "Hi")] }))
        {
            answer.Append(part?.Message.Content);
        }

        Assert.That(answer.ToString(), Is.EqualTo(FakeOllamaApi.Answer));
        Assert.That(gateway.Origin.Requests.Single().Headers.All("Authorization"), Is.EqualTo(new[] { gateway.Bearer(1) }));
    }

    [Test]
    public async Task OllamaSharpWithClientToken_DisallowedModelRaisesItsErrorWith403()
    {
        var kids = new GatewayClient("kids", models: [FakeOllamaApi.Model]);
        await using var gateway = await GatewayHarness.StartAsync(FakeOllamaApi.HandleAsync, [kids]);
        using var http = AuthorizedHttpClient(gateway, kids);
        using var ollama = new OllamaApiClient(http, FakeOllamaApi.Model);

        // OllamaSharp surfaces an error status as HttpRequestException, whose StatusCode carries it.
        var failure = Assert.ThrowsAsync<HttpRequestException>(async () =>
        {
            await foreach (var _ in ollama.ChatAsync(new ChatRequest { Model = Refused, Messages = [new Message(ChatRole.User, "Hi")] }))
            {
            }
        });

        Assert.That(failure?.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(gateway.Origin.Requests, Is.Empty);
    }

    [Test]
    public async Task OpenAiSdkWithClientToken_AllowedModelCompletesAndModelListIsFiltered()
    {
        var kids = new GatewayClient("kids", models: [FakeOllamaApi.Model]);
        await using var gateway = await GatewayHarness.StartAsync(FakeOllamaApi.HandleAsync, [kids]);
        using var http = new HttpClient();

        ChatCompletion completion = await new ChatClient(FakeOllamaApi.Model, new ApiKeyCredential(kids.Token), Options(gateway, http))
            .CompleteChatAsync([new UserChatMessage("Hi")]);
        OpenAIModelCollection models = await new OpenAIModelClient(new ApiKeyCredential(kids.Token), Options(gateway, http)).GetModelsAsync();

        Assert.That(completion.Content.Single().Text, Is.EqualTo(FakeOllamaApi.Answer));
        Assert.That(models.Select(model => model.Id), Is.EqualTo(new[] { "llama3.2:latest" }));
    }

    [Test]
    public async Task OpenAiSdkWithClientToken_DisallowedModelRaisesClientResultExceptionWith403()
    {
        var kids = new GatewayClient("kids", models: [FakeOllamaApi.Model]);
        await using var gateway = await GatewayHarness.StartAsync(FakeOllamaApi.HandleAsync, [kids]);
        using var http = new HttpClient();
        var chat = new ChatClient(Refused, new ApiKeyCredential(kids.Token), Options(gateway, http));

        var failure = Assert.ThrowsAsync<ClientResultException>(async () => await chat.CompleteChatAsync([new UserChatMessage("Hi")]));

        Assert.That(failure?.Status, Is.EqualTo(403));
        Assert.That(failure?.GetRawResponse()?.Content.ToString(), Is.EqualTo($$"""{"error":"model \"{{Refused}}\" is not allowed for client \"kids\""}"""));
        Assert.That(gateway.Origin.Requests, Is.Empty);
    }

    private static HttpClient AuthorizedHttpClient(GatewayHarness gateway, GatewayClient client)
    {
        var http = new HttpClient { BaseAddress = gateway.Proxy.BaseAddress, Timeout = EventTimeout.Limit };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", client.Token);
        return http;
    }

    private static OpenAIClientOptions Options(GatewayHarness gateway, HttpClient http) => new()
    {
        Endpoint = new Uri($"http://127.0.0.1:{gateway.Proxy.EndPoint.Port}/v1"),
        Transport = new HttpClientPipelineTransport(http),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        NetworkTimeout = EventTimeout.Limit,
    };
}
