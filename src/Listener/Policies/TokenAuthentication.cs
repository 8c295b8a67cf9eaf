using System.Text;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener;

/// <summary>
/// The first stage of the pipeline: finds which client sent a request from its token (docs/BEHAVIOUR.md#authentication):
/// exactly one <c>Authorization: Bearer &lt;token&gt;</c> (scheme case-insensitive, RFC 9110 §11.1), or one
/// <c>x-api-key: &lt;token&gt;</c>. The clients are those of <c>PROXY_CLIENTS_FILE</c> and <c>PROXY_AUTH_TOKEN</c>
/// (<see cref="ClientRegistry"/>), compared by SHA-256 digest in constant time; with neither, the proxy is open and
/// every request is the client <c>default</c>.
/// </summary>
internal sealed class TokenAuthentication(ClientRegistrySource clients)
{
    /// <summary>The client of an open proxy: every model, and the management routes.</summary>
    public static ClientDefinition OpenClient { get; } = new(ClientDefinition.DefaultName, new byte[32], manage: true);

    /// <summary>The client that sent <paramref name="head"/>, or null when its token is missing or wrong (401).</summary>
    public ClientDefinition? Authenticate(RequestHead head)
    {
        var registry = clients.Current;
        if (registry.IsOpen)
        {
            return OpenClient;
        }

        if (head.AuthorizationCount > 1 || head.ApiKeyCount > 1)
        {
            return null;
        }

        ClientDefinition? client = null;
        if (head.AuthorizationCount == 1)
        {
            var value = head.Authorization;
            if (value.Length > 7 && Ascii.EqualsIgnoreCase(value[..7], "Bearer "u8))
            {
                client = registry.Authenticate(value[7..]);
            }
        }

        if (client is null && head.ApiKeyCount == 1)
        {
            client = registry.Authenticate(head.ApiKey);
        }

        return client;
    }
}
