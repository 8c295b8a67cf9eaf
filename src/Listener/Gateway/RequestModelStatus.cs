namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>What <see cref="RequestModel.Find"/> learned about the model a request body names.</summary>
public enum RequestModelStatus : byte
{
    /// <summary>
    /// The body's top-level object names one model, a non-empty string. When the body goes on past the bytes that were
    /// read, a later duplicate could still replace it: <see cref="RequestModelGuard"/> watches the rest.
    /// </summary>
    Found,

    /// <summary>
    /// No model within the bytes read: no top-level <c>"model"</c>, one that is null, empty or not a string, a top
    /// level that is not an object, or an empty body.
    /// </summary>
    NotFound,

    /// <summary>
    /// Not JSON (RFC 8259), or the model is not a name: invalid UTF-8, an escaped lone surrogate, or longer than the
    /// buffer given for it.
    /// </summary>
    Invalid,

    /// <summary>
    /// The top-level object names its model more than once (also as <c>"MODEL"</c> or <c>"mod\u0065l"</c>). Ollama's
    /// server would use the last one; another reader the first: the proxy refuses to guess.
    /// </summary>
    Ambiguous,
}
