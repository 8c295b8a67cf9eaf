using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// The models one client may use: its <c>models</c> patterns (<see cref="ModelPattern"/>), or every model when it
/// has none. Immutable, shared by every request of the client.
/// </summary>
public sealed class ModelAllowList
{
    private readonly ModelPattern[] _patterns;

    private ModelAllowList(ModelPattern[] patterns, bool allowsEverything)
    {
        _patterns = patterns;
        AllowsEverything = allowsEverything;
    }

    /// <summary>A client without a <c>models</c> list.</summary>
    public static ModelAllowList Everything { get; } = new([], allowsEverything: true);

    /// <summary>True when no model can be refused (no list, or a <c>*</c> in it): the request body need not be read.</summary>
    public bool AllowsEverything { get; }

    /// <summary>The patterns as configured, for <c>clients list</c>.</summary>
    public IReadOnlyList<ModelPattern> Patterns => _patterns;

    /// <summary>Builds the list from configured patterns; an empty list allows no model.</summary>
    public static bool TryCreate(IEnumerable<string> patterns, [NotNullWhen(true)] out ModelAllowList? list, [NotNullWhen(false)] out string? error)
    {
        var parsed = new List<ModelPattern>();
        foreach (var text in patterns)
        {
            if (!ModelPattern.TryParse(text, out var pattern, out error))
            {
                list = null;
                return false;
            }

            parsed.Add(pattern);
        }

        list = new ModelAllowList([.. parsed], parsed.Exists(p => p.MatchesEverything));
        error = null;
        return true;
    }

    /// <summary>
    /// Whether <paramref name="name"/> (UTF-8, as the request or the upstream wrote it) is allowed. A name outside
    /// ASCII or longer than <see cref="RequestModel.MaxNameLength"/> is no name Ollama accepts, and is refused.
    /// </summary>
    public bool Allows(ReadOnlySpan<byte> name)
    {
        if (AllowsEverything)
        {
            return true;
        }

        if (name.IsEmpty || name.Length > RequestModel.MaxNameLength)
        {
            return false;
        }

        Span<byte> lower = stackalloc byte[RequestModel.MaxNameLength + ModelPattern.LatestTag.Length];
        if (Ascii.ToLower(name, lower, out var length) != System.Buffers.OperationStatus.Done)
        {
            return false;
        }

        if (!ModelPattern.HasTag(lower[..length]))
        {
            ModelPattern.LatestTag.CopyTo(lower[length..]);
            length += ModelPattern.LatestTag.Length;
        }

        foreach (var pattern in _patterns)
        {
            if (pattern.Matches(lower[..length]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>For tests and the configuration's own checks; the request path uses the UTF-8 overload.</summary>
    public bool Allows(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        return Allows(bytes);
    }
}
