namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>One header or trailer field as it arrived: the name as spelled, the value without surrounding whitespace.</summary>
public readonly record struct HeaderField(string Name, string Value)
{
    public bool Is(string name) => string.Equals(Name, name, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => $"{Name}: {Value}";
}
