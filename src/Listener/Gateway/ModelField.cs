namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>Which top-level fields of a request body name its model.</summary>
public enum ModelField : byte
{
    /// <summary><c>"model"</c>, the only one on every inference route.</summary>
    Model,

    /// <summary>
    /// <c>"model"</c>, or the deprecated <c>"name"</c> when "model" is absent or empty: how Ollama's /api/show reads
    /// its request (<see cref="GatewayRouteKind.ModelOrNameInBody"/>).
    /// </summary>
    ModelOrName,
}
