namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// One entry of a clients file an end-to-end test writes, and the token that goes with it: the file holds only its
/// SHA-256 (README.md#several-clients-and-keys). Each instance has a fresh random token.
/// </summary>
internal sealed class GatewayClient(
    string name, string[]? models = null, int? maxConcurrent = null, int? requestsPerMinute = null, bool manage = false)
{
    public string Name { get; } = name;

    /// <summary>Exact names or globs; <c>null</c> writes no <c>models</c> (every model).</summary>
    public string[]? Models { get; } = models;

    public int? MaxConcurrent { get; } = maxConcurrent;

    public int? RequestsPerMinute { get; } = requestsPerMinute;

    public bool Manage { get; } = manage;

    public string Token { get; } = $"osp_{name}_{Guid.NewGuid():N}";

    /// <summary>The header line, CRLF included, that authenticates a raw request as this client.</summary>
    public string AuthorizationField => $"Authorization: Bearer {Token}\r\n";

    public override string ToString() => Name;
}
