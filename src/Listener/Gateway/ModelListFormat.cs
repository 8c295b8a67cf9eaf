namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>The shape of a model list answer, and where each entry names its model.</summary>
public enum ModelListFormat : byte
{
    /// <summary><c>/api/tags</c>, <c>/api/ps</c>: <c>{"models":[{"name":"…","model":"…",…},…]}</c>.</summary>
    Ollama,

    /// <summary><c>/v1/models</c>: <c>{"object":"list","data":[{"id":"…",…},…]}</c>.</summary>
    OpenAi,
}
