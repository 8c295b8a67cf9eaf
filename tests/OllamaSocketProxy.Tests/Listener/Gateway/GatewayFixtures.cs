using System.Security.Cryptography;
using System.Text;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>Tokens, their digests and the example clients file, for the client registry's tests.</summary>
internal static class GatewayFixtures
{
    public const string OpenWebUiToken = "osp_open-webui-test-token";
    public const string KidsToken = "osp_kids-test-token";
    public const string LaptopToken = "osp_laptop-test-token";

    public static string Sha256Hex(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(token)));

    /// <summary>The README's example, with comments and a trailing comma. open-webui's entry starts on line 4, kids' on 7.</summary>
    public static string ExampleFile => $$"""
        // Clients of the house proxy.
        {
          "clients": [
            { "name": "open-webui", "token_sha256": "{{Sha256Hex(OpenWebUiToken)}}", "models": ["gpt-oss:*", "qwen3-coder:480b"],
              "max_concurrent": 4, "requests_per_minute": 60 },
            /* the children's tablet */
            { "name": "kids", "token_sha256": "{{Sha256Hex(KidsToken)}}", "models": ["gemma3:4b"], "manage": false },
          ],
        }
        """;
}
