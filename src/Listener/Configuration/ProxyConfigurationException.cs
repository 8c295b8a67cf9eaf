namespace OllamaSocketProxy.Listener;

/// <summary>A configuration variable that is missing or malformed. The message names the variable, never a secret.</summary>
public sealed class ProxyConfigurationException(string variable, string why)
    : Exception($"{variable} {why}")
{
    public string Variable { get; } = variable;
}
