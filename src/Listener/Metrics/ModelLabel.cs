using System.Collections.Frozen;
using System.Text;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Listener.Metrics;

/// <summary>
/// The <c>model</c> label of a request: the model's name when the proxy knows it, else <see cref="Other"/>, so that
/// a client cannot mint label values by sending made-up names. Known names are the exact names in the clients'
/// <c>models</c> lists (a glob names no model: <c>gemma3*</c> would admit any name that starts so) and the names the
/// upstream has served (<see cref="LearnServed"/>): a made-up name gets a 404 from the upstream, so it never becomes
/// a label.
/// </summary>
/// <remarks>
/// A name is matched as Ollama matches names (<see cref="ModelPattern"/>): ASCII case does not matter and a name
/// without a tag means its <c>:latest</c>. The label is that canonical form, lower case with its tag:
/// <c>Gemma3</c> and <c>gemma3:latest</c> both count as <c>gemma3:latest</c>. Thread-safe: lookups read one immutable
/// table, which an update replaces whole; a lookup allocates nothing.
/// </remarks>
public sealed class ModelLabel
{
    /// <summary>The label of a model the proxy does not know.</summary>
    public const string Other = "other";

    /// <summary>The label of a request that names no model (a model list, a version query).</summary>
    public const string None = "none";

    /// <summary>At most this many served names are learned; any further one counts as <see cref="Other"/>.</summary>
    public const int MaxServedModels = 1024;

    private readonly Lock _gate = new();
    private FrozenSet<string> _configured = FrozenSet<string>.Empty;
    private FrozenSet<string> _served = FrozenSet<string>.Empty;
    private volatile Table _table = new(FrozenDictionary<string, string>.Empty);

    /// <summary>Knows the exact names in the <c>models</c> lists of <paramref name="clients"/>.</summary>
    public ModelLabel(IEnumerable<ClientDefinition> clients) => UpdateClients(clients);

    /// <summary>How many names are known now.</summary>
    public int KnownCount => _table.Labels.Count;

    /// <summary>Takes the names of the clients' <c>models</c> lists anew, after the clients file was reloaded.</summary>
    public void UpdateClients(IEnumerable<ClientDefinition> clients)
    {
        ArgumentNullException.ThrowIfNull(clients);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var client in clients)
        {
            foreach (var pattern in client.AllowList.Patterns)
            {
                if (!pattern.IsGlob && Canonical(pattern.Text) is { } name)
                {
                    names.Add(name);
                }
            }
        }

        lock (_gate)
        {
            _configured = names.ToFrozenSet(StringComparer.Ordinal);
            Publish();
        }
    }

    /// <summary>
    /// The label of <paramref name="name"/>, a model the upstream has just served (answered with a 2xx): a name it
    /// does not know, it answers with 404, so a made-up name is never learned. Known from then on, up to
    /// <see cref="MaxServedModels"/> names; allocates only the first time a name is served.
    /// </summary>
    public string LearnServed(ReadOnlySpan<byte> name)
    {
        var label = For(name);
        if (!ReferenceEquals(label, Other) || name.Length > RequestModel.MaxNameLength || !Ascii.IsValid(name)
            || Volatile.Read(ref _served).Count >= MaxServedModels)
        {
            return label;
        }

        if (Canonical(Encoding.ASCII.GetString(name)) is not { } canonical)
        {
            return label;
        }

        lock (_gate)
        {
            if (_served.Count >= MaxServedModels || _served.Contains(canonical))
            {
                return _table.Labels.GetValueOrDefault(canonical, Other);
            }

            _served = _served.Append(canonical).ToFrozenSet(StringComparer.Ordinal);
            Publish();
        }

        return canonical;
    }

    /// <summary>
    /// <see cref="LearnServed"/> (when <paramref name="served"/>) or <see cref="For(ReadOnlySpan{byte})"/>, answered from
    /// <paramref name="cache"/> when it holds the same name and the known names are still those it was labelled among.
    /// A name labelled <see cref="Other"/> is looked up again when served, since it may be learned now.
    /// </summary>
    public string For(ReadOnlySpan<byte> name, bool served, ModelLabelCache cache)
    {
        var known = _table;
        if (cache.Length >= 0 && ReferenceEquals(cache.Known, known) && name.SequenceEqual(cache.Name.AsSpan(0, cache.Length))
            && !(served && ReferenceEquals(cache.Label, Other)))
        {
            return cache.Label;
        }

        var label = served ? LearnServed(name) : For(name);
        if (name.Length <= ModelLabelCache.MaxNameLength)
        {
            name.CopyTo(cache.Name);
            cache.Length = name.Length;
            cache.Known = known;
            cache.Label = label;
        }

        return label;
    }

    /// <summary>
    /// The label of <paramref name="name"/>, UTF-8 as the request wrote it: a known name in its canonical form,
    /// <see cref="Other"/> for any other, <see cref="None"/> when empty. Allocates nothing.
    /// </summary>
    public string For(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            return None;
        }

        if (name.Length > RequestModel.MaxNameLength)
        {
            return Other;
        }

        Span<char> lower = stackalloc char[name.Length + ModelPattern.LatestTag.Length];
        if (Ascii.ToLower(name, lower, out var length) != System.Buffers.OperationStatus.Done)
        {
            return Other;
        }

        return Find(lower, length);
    }

    /// <summary>The label of <paramref name="name"/>; see the UTF-8 overload.</summary>
    public string For(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return None;
        }

        if (name.Length > RequestModel.MaxNameLength)
        {
            return Other;
        }

        Span<char> lower = stackalloc char[name.Length + ModelPattern.LatestTag.Length];
        if (Ascii.ToLower(name, lower, out var length) != System.Buffers.OperationStatus.Done)
        {
            return Other;
        }

        return Find(lower, length);
    }

    /// <summary>Looks up the lower-case name in <paramref name="lower"/>[..<paramref name="length"/>], adding <c>:latest</c> when it has no tag.</summary>
    private string Find(Span<char> lower, int length)
    {
        if (!HasTag(lower[..length]))
        {
            for (var i = 0; i < ModelPattern.LatestTag.Length; i++)
            {
                lower[length + i] = (char)ModelPattern.LatestTag[i];
            }

            length += ModelPattern.LatestTag.Length;
        }

        return _table.Lookup.TryGetValue(lower[..length], out var label) ? label : Other;
    }

    /// <summary>The canonical form of a name (lower case, tag explicit), or null for a name Ollama would not accept.</summary>
    private static string? Canonical(string name)
    {
        if (name.Length == 0 || name.Length > RequestModel.MaxNameLength)
        {
            return null;
        }

        foreach (var c in name)
        {
            if (c is <= ' ' or >= (char)0x7F)
            {
                return null;
            }
        }

        var lower = name.ToLowerInvariant();
        return HasTag(lower) ? lower : lower + ":latest";
    }

    /// <summary>Ollama's rule, as <see cref="ModelPattern"/> applies it: the tag follows the last <c>:</c> that no <c>/</c> follows.</summary>
    private static bool HasTag(ReadOnlySpan<char> name) => name.LastIndexOf(':') > name.LastIndexOf('/');

    /// <summary>Called under <see cref="_gate"/>.</summary>
    private void Publish()
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in _configured)
        {
            labels[name] = name;
        }

        foreach (var name in _served)
        {
            labels[name] = name;
        }

        _table = new Table(labels.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>Known names, each mapped to itself so that a lookup by span returns the stored string.</summary>
    private sealed class Table(FrozenDictionary<string, string> labels)
    {
        public readonly FrozenDictionary<string, string> Labels = labels;
        public readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Lookup =
            labels.GetAlternateLookup<ReadOnlySpan<char>>();
    }
}
