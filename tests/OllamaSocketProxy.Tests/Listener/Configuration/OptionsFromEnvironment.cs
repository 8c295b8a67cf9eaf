using OllamaSocketProxy.Listener;

namespace OllamaSocketProxy.Tests.Listener.Configuration;

/// <summary><see cref="ProxyOptions.FromEnvironment"/> over the required key and the given variables only.</summary>
internal static class OptionsFromEnvironment
{
    public const string Key = "sk-options-test-key-4b2e";

    public static ProxyOptions Read(params (string Name, string? Value)[] variables)
    {
        var environment = new Dictionary<string, string?> { ["OLLAMA_API_KEY"] = Key };
        foreach (var (name, value) in variables)
        {
            environment[name] = value;
        }

        return ProxyOptions.FromEnvironment(environment);
    }
}
