using System.Collections;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>The fields of a head or trailer section, in the order they arrived.</summary>
public sealed class HeaderFields(IReadOnlyList<HeaderField> fields) : IReadOnlyList<HeaderField>
{
    public static readonly HeaderFields Empty = new([]);

    public int Count => fields.Count;

    public HeaderField this[int index] => fields[index];

    /// <summary>The value of the first field called <paramref name="name"/>, or <c>null</c>.</summary>
    public string? this[string name] => fields.FirstOrDefault(field => field.Is(name)).Value;

    public IReadOnlyList<string> All(string name) => [.. fields.Where(field => field.Is(name)).Select(field => field.Value)];

    public bool Contains(string name) => fields.Any(field => field.Is(name));

    public IReadOnlyList<string> Names => [.. fields.Select(entry => entry.Name)];

    /// <summary>Parses field lines (without their line ends) split at the first colon.</summary>
    public static HeaderFields Parse(IEnumerable<string> lines) =>
        new([.. lines.Select(line =>
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? new HeaderField(line, "") : new HeaderField(line[..colon], line[(colon + 1)..].Trim(' ', '\t'));
        })]);

    public IEnumerator<HeaderField> GetEnumerator() => fields.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join("\r\n", fields);
}
