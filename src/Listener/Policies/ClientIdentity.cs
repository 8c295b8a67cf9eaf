namespace OllamaSocketProxy.Listener;

/// <summary>Who sent a request, as authentication found it: what the policies after it decide by.</summary>
internal sealed class ClientIdentity(string name)
{
    /// <summary>The client's name in log lines (never its token).</summary>
    public string Name { get; } = name;

    /// <summary>The one client of a proxy configured with a single <c>PROXY_AUTH_TOKEN</c>, or with none (open).</summary>
    public static ClientIdentity Default { get; } = new("default");
}
