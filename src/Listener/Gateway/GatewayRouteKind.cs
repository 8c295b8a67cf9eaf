namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>What the model policy does on a route (<see cref="GatewayRoute.Classify(ReadOnlySpan{byte})"/>).</summary>
public enum GatewayRouteKind : byte
{
    /// <summary>
    /// A path Ollama does not serve today. A restricted client's body is still checked when its top-level object
    /// names a model (a route added later may carry one); otherwise the request goes on unchecked.
    /// </summary>
    Other,

    /// <summary>Names no model: <c>/api/version</c>, <c>/api/status</c>, web search and fetch.</summary>
    NoModel,

    /// <summary>
    /// The body's top-level <c>"model"</c> must be found and allowed: generate, chat, embeddings and the OpenAI and
    /// Anthropic routes (<see cref="ModelField.Model"/>).
    /// </summary>
    ModelInBody,

    /// <summary><c>/api/show</c>: <c>"model"</c>, or the deprecated <c>"name"</c> (<see cref="ModelField.ModelOrName"/>).</summary>
    ModelOrNameInBody,

    /// <summary><c>/v1/models/{model}</c>: the model is the path's last segment (<see cref="GatewayRoute.TryGetPathModel"/>).</summary>
    ModelInPath,

    /// <summary>
    /// Changes what the account holds, or acts on the account itself: pull, push, create, copy, delete, blobs, and
    /// Ollama's sign-in routes (<c>/api/me</c>, <c>/api/signout</c>, <c>/api/user/keys/…</c>). Only a client with
    /// <c>manage: true</c> gets through; its model list does not apply there, since such a client could copy any
    /// model to an allowed name anyway.
    /// </summary>
    Manage,

    /// <summary><c>/api/tags</c>, <c>/api/ps</c>: the answer's <c>models</c> are filtered (<see cref="ModelListFormat.Ollama"/>).</summary>
    OllamaModelList,

    /// <summary><c>/v1/models</c>: the answer's <c>data</c> is filtered (<see cref="ModelListFormat.OpenAi"/>).</summary>
    OpenAiModelList,
}
