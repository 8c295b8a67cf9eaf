using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// One entry of a client's <c>models</c> list: an exact model name, or a glob where <c>*</c> stands for any run of
/// characters (also <c>/</c> and <c>:</c>). Matching follows Ollama's own reading of names: ASCII case does not
/// matter (Ollama compares names case-insensitively), and a name without a tag means its <c>:latest</c>, in an
/// exact pattern as in the request. So <c>gemma3</c> and <c>gemma3:latest</c> are one model, and <c>gpt-oss</c>
/// does not allow <c>gpt-oss:20b</c>. A glob is matched against the whole name with its tag, as <c>ollama list</c>
/// shows it: <c>gemma3*</c> allows every tag of gemma3 and of gemma3n, <c>*:cloud</c> every model tagged cloud,
/// and <c>qwen3-*-coder</c> nothing (it needs <c>:*</c>). A pattern of stars only allows every model.
/// </summary>
public sealed class ModelPattern
{
    /// <summary>What Ollama adds to a name that has no tag.</summary>
    internal static ReadOnlySpan<byte> LatestTag => ":latest"u8;

    private readonly byte[] _lower;

    private ModelPattern(string text, byte[] lower, bool isGlob, bool matchesEverything)
    {
        Text = text;
        _lower = lower;
        IsGlob = isGlob;
        MatchesEverything = matchesEverything;
    }

    /// <summary>The pattern as configured.</summary>
    public string Text { get; }

    public bool IsGlob { get; }

    /// <summary><c>*</c> (or <c>**</c>…): every model.</summary>
    public bool MatchesEverything { get; }

    /// <summary>
    /// Accepts visible ASCII only (model names are ASCII letters, digits and <c>_-.:/</c>): a space or a stray
    /// character is a typo in the configuration, reported rather than matched against nothing.
    /// </summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out ModelPattern? pattern, [NotNullWhen(false)] out string? error)
    {
        pattern = null;
        if (text.Length == 0)
        {
            error = "a model pattern is empty";
            return false;
        }

        if (text.Length > RequestModel.MaxNameLength)
        {
            error = $"the model pattern \"{text[..32]}…\" is longer than {RequestModel.MaxNameLength} characters";
            return false;
        }

        foreach (var c in text)
        {
            if (c is <= ' ' or >= (char)0x7F)
            {
                error = $"the model pattern \"{text}\" holds a character a model name cannot (only visible ASCII)";
                return false;
            }
        }

        var isGlob = text.Contains('*', StringComparison.Ordinal);
        var everything = text.AsSpan().IndexOfAnyExcept('*') < 0;
        var lower = Encoding.ASCII.GetBytes(text.ToLowerInvariant());
        if (!isGlob && !HasTag(lower))
        {
            lower = [.. lower, .. LatestTag];
        }

        pattern = new ModelPattern(text, lower, isGlob, everything);
        error = null;
        return true;
    }

    /// <summary>Whether <paramref name="lowerName"/>, lower-case and with its tag made explicit, matches.</summary>
    internal bool Matches(ReadOnlySpan<byte> lowerName) =>
        MatchesEverything || (IsGlob ? GlobMatches(_lower, lowerName) : lowerName.SequenceEqual(_lower));

    /// <summary>Ollama's rule: the tag is what follows the last <c>:</c>, if no <c>/</c> follows it (a host may have a port).</summary>
    internal static bool HasTag(ReadOnlySpan<byte> name) => name.LastIndexOf((byte)':') > name.LastIndexOf((byte)'/');

    public override string ToString() => Text;

    /// <summary>Iterative wildcard match: on a mismatch, the last star takes one more character.</summary>
    private static bool GlobMatches(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> name)
    {
        int p = 0, n = 0, star = -1, starName = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                starName = n;
            }
            else if (p < pattern.Length && pattern[p] == name[n])
            {
                p++;
                n++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++starName;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
