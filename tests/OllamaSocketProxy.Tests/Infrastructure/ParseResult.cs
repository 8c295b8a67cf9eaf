namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>What one call of a head parser amounted to.</summary>
public enum ParseResult
{
    /// <summary>The parser returned false: read more.</summary>
    Incomplete,

    /// <summary>The parser returned true.</summary>
    Parsed,

    /// <summary>The parser threw its typed rejection.</summary>
    Rejected,
}
