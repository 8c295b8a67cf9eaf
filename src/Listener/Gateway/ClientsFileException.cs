namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// A clients file that cannot be read or is not valid. The message names the file, the 1-based line when there is
/// one, and what is wrong; it never quotes a token or a digest.
/// </summary>
public sealed class ClientsFileException(string? path, int line, string why)
    : Exception(Format(path, line, why))
{
    /// <summary>The file, as configured; <c>null</c> when the text did not come from a file.</summary>
    public string? Path { get; } = path;

    /// <summary>The 1-based line of the error; 0 when the error has no line (the file cannot be read).</summary>
    public int Line { get; } = line;

    /// <summary>What is wrong, without the file and the line.</summary>
    public string Reason { get; } = why;

    private static string Format(string? path, int line, string why) => (path, line) switch
    {
        (null, 0) => why,
        (null, _) => $"line {line}: {why}",
        (_, 0) => $"{path}: {why}",
        _ => $"{path}: line {line}: {why}",
    };
}
