using System.Security.Cryptography;
using System.Text;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Listener.Metrics;

namespace OllamaSocketProxy.Tests.Listener.Metrics;

/// <summary>The model label is a known model's name or "other": no request can add a label value.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ModelLabelTests
{
    [TestCase("gpt-oss:120b", "gpt-oss:120b")]
    [TestCase("GPT-OSS:120B", "gpt-oss:120b")]
    [TestCase("gemma3", "gemma3:latest")]
    [TestCase("Gemma3:Latest", "gemma3:latest")]
    [TestCase("qwen3-coder:480b", "qwen3-coder:480b")]
    public void NameInAnAllowList_ItsCanonicalForm(string requested, string expected)
    {
        var labels = Labels();

        Assert.That((labels.For(requested), labels.For(Encoding.UTF8.GetBytes(requested))), Is.EqualTo((expected, expected)));
    }

    [TestCase("gpt-oss:20b")]
    [TestCase("gemma3:4b")]
    [TestCase("qwen3:8b")]
    [TestCase("made-up-model-7f3a")]
    [TestCase("gpt-oss")]
    public void NameInNoAllowList_Other(string requested)
    {
        var labels = Labels();

        Assert.That((labels.For(requested), labels.For(Encoding.UTF8.GetBytes(requested))), Is.EqualTo((ModelLabel.Other, ModelLabel.Other)));
    }

    [Test]
    public void NameOnlyAGlobMatches_Other()
    {
        // "qwen3*" admits the name, but a glob admits endless names: only exact names become labels.
        var labels = Labels();

        Assert.That(labels.For("qwen3:8b"), Is.EqualTo(ModelLabel.Other));
    }

    [Test]
    public void NameTheUpstreamServed_ItsOwnLabelFromThenOn()
    {
        var labels = Labels();

        var learned = (Learn(labels, "qwen3:8b"), Learn(labels, "DeepSeek-V3.1:671b-cloud"));

        Assert.That(learned, Is.EqualTo(("qwen3:8b", "deepseek-v3.1:671b-cloud")));
        Assert.That((labels.For("qwen3:8b"), labels.For("deepseek-v3.1:671b-cloud")), Is.EqualTo(learned));
    }

    [Test]
    public void ServedNameInAnAllowList_ItsCanonicalForm_NothingLearned()
    {
        var labels = Labels();

        Assert.That((Learn(labels, "GEMMA3"), labels.KnownCount), Is.EqualTo(("gemma3:latest", 3)));
    }

    [Test]
    public void ClientsReloaded_RemovedNamesOther()
    {
        var labels = Labels();

        labels.UpdateClients([Client("kids", ["gemma3:4b"])]);

        Assert.That((labels.For("gemma3"), labels.For("gemma3:4b")), Is.EqualTo((ModelLabel.Other, "gemma3:4b")));
    }

    [Test]
    public void ManyMadeUpNames_NoNewLabel()
    {
        var labels = Labels();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var random = new Random(11);

        for (var i = 0; i < 10_000; i++)
        {
            var name = $"model-{random.Next():x}:{random.Next(100)}b";
            seen.Add(labels.For(name));
            seen.Add(labels.For(Encoding.UTF8.GetBytes(name.ToUpperInvariant())));
        }

        Assert.That(seen, Is.EqualTo(new[] { ModelLabel.Other }));
        Assert.That(labels.KnownCount, Is.EqualTo(3));
    }

    [Test]
    public void SpellingsOfOneModel_SameStringInstance()
    {
        var labels = Labels();

        Assert.That(labels.For("GEMMA3"), Is.SameAs(labels.For("gemma3:latest")));
    }

    [Test]
    public void EmptyName_None()
    {
        var labels = Labels();

        Assert.That((labels.For(""), labels.For((string?)null), labels.For(ReadOnlySpan<byte>.Empty)), Is.EqualTo((ModelLabel.None, ModelLabel.None, ModelLabel.None)));
    }

    [Test]
    public void NonAsciiName_Other()
    {
        var labels = Labels();
        Assert.That((Learn(labels, "gémma3:4b"), labels.For("gémma3:4b"), labels.For(Encoding.UTF8.GetBytes("gémma3:4b"))),
            Is.EqualTo((ModelLabel.Other, ModelLabel.Other, ModelLabel.Other)));
    }

    [Test]
    public void NameLongerThanAnyModel_Other()
    {
        var labels = Labels();
        var name = new string('a', RequestModel.MaxNameLength + 1);

        Assert.That((Learn(labels, name), labels.For(name), labels.For(Encoding.ASCII.GetBytes(name))),
            Is.EqualTo((ModelLabel.Other, ModelLabel.Other, ModelLabel.Other)));
    }

    [Test]
    public void LongestName_Known()
    {
        var labels = Labels();
        var name = new string('a', RequestModel.MaxNameLength - 4) + ":tag";
        Learn(labels, name);

        Assert.That(labels.For(Encoding.ASCII.GetBytes(name)), Is.EqualTo(name));
    }

    [Test]
    public void UntaggedLongestName_Known()
    {
        var labels = Labels();
        var name = new string('a', RequestModel.MaxNameLength);
        Learn(labels, name);

        Assert.That(labels.For(Encoding.ASCII.GetBytes(name)), Is.EqualTo(name + ":latest"));
    }

    [Test]
    public void InvalidServedNames_PassedOver()
    {
        var labels = Labels();

        var learned = new[] { "", "two words", "tab\tname", "ok:1b" }.Select(name => Learn(labels, name)).ToArray();

        Assert.That(learned, Is.EqualTo(new[] { ModelLabel.None, ModelLabel.Other, ModelLabel.Other, "ok:1b" }));
        Assert.That(labels.KnownCount, Is.EqualTo(4));
    }

    [Test]
    public void ManyServedNames_CappedAndOtherBeyond()
    {
        var labels = new ModelLabel([]);

        var learned = Enumerable.Range(0, ModelLabel.MaxServedModels + 10).Select(i => Learn(labels, $"m{i}:1b")).ToArray();

        Assert.That(labels.KnownCount, Is.EqualTo(ModelLabel.MaxServedModels));
        Assert.That((learned[0], learned[^1], labels.For("m0:1b"), labels.For($"m{ModelLabel.MaxServedModels}:1b")),
            Is.EqualTo(("m0:1b", ModelLabel.Other, "m0:1b", ModelLabel.Other)));
    }

    [Test]
    public void HostAndPortName_TagAddedAfterThePath()
    {
        // "host:5000/ns/model" has no tag: the colon is the port's, followed by a slash.
        var labels = new ModelLabel([Client("a", ["registry.local:5000/library/llama3"])]);

        Assert.That(labels.For("registry.local:5000/library/llama3:latest"), Is.EqualTo("registry.local:5000/library/llama3:latest"));
    }

    /// <summary>A connection's remembered label stays right across what changes a label: a reload, a name learned, another name.</summary>
    [Test]
    public void CachedLabel_FollowsReloadsLearningAndOtherNames()
    {
        var labels = Labels();
        var cache = new ModelLabelCache();
        string Ask(string name, bool served) => labels.For(Encoding.UTF8.GetBytes(name), served, cache);

        var seen = new[]
        {
            Ask("gemma3", served: false),        // looked up: known from the allow-list
            Ask("gemma3", served: false),        // remembered
            Ask("qwen3:8b", served: false),      // another name: looked up, not known
            Ask("qwen3:8b", served: true),       // served now: learned, though "other" was remembered
            Ask("qwen3:8b", served: false),      // known from then on
        };
        labels.UpdateClients([Client("kids", ["gemma3:4b"])]);
        var afterReload = (Ask("gemma3", served: false), Ask("gemma3:4b", served: false));

        Assert.That(seen, Is.EqualTo(new[] { "gemma3:latest", "gemma3:latest", ModelLabel.Other, "qwen3:8b", "qwen3:8b" }));
        Assert.That(afterReload, Is.EqualTo((ModelLabel.Other, "gemma3:4b")));
    }

    /// <summary>A name longer than the cache holds is looked up each time, and still labelled.</summary>
    [Test]
    public void CachedLabel_NameLongerThanTheCache_LookedUpEachTime()
    {
        var name = "host.example/" + new string('n', ModelLabelCache.MaxNameLength) + ":1b";
        var labels = new ModelLabel([Client("a", [name])]);
        var cache = new ModelLabelCache();

        var asked = (labels.For(Encoding.ASCII.GetBytes(name), served: false, cache), labels.For(Encoding.ASCII.GetBytes(name), served: false, cache));

        Assert.That(asked, Is.EqualTo((name, name)));
    }

    private static string Learn(ModelLabel labels, string name) => labels.LearnServed(Encoding.UTF8.GetBytes(name));

    private static ModelLabel Labels() => new([
        Client("open-webui", ["gpt-oss:120b", "qwen3-coder:480b", "qwen3*"]),
        Client("kids", ["Gemma3"]),
        Client("laptop", null),
    ]);

    private static ClientDefinition Client(string name, string[]? models) =>
        new(name, SHA256.HashData(Encoding.ASCII.GetBytes(name)), models);
}
