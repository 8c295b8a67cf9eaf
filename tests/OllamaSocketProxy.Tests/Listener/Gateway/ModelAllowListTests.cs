using System.Text;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// Exact names and globs, read as Ollama reads names: any case, and no tag meaning <c>:latest</c>; a glob against the
/// name with its tag.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ModelAllowListTests
{
    private static ModelAllowList List(params string[] patterns)
    {
        Assert.That(ModelAllowList.TryCreate(patterns, out var list, out var error), Is.True, error);
        return list!;
    }

    [TestCase("gemma3:4b", "gemma3:4b", true)]
    [TestCase("gemma3:4b", "GEMMA3:4B", true)]
    [TestCase("GEMMA3:4B", "gemma3:4b", true)]
    [TestCase("gemma3:4b", "gemma3:12b", false)]
    [TestCase("gemma3:4b", "gemma3:4b-it-qat", false)]
    [TestCase("gemma3:4b", "xgemma3:4b", false)]
    [TestCase("gemma3:4b", "gemma3", false)]
    [TestCase("gemma3:4b", "library/gemma3:4b", false)]
    [TestCase("gemma3", "gemma3", true)]
    [TestCase("gemma3", "gemma3:latest", true)]
    [TestCase("gemma3", "Gemma3:LATEST", true)]
    [TestCase("gemma3", "gemma3:4b", false)]
    [TestCase("gemma3:latest", "gemma3", true)]
    [TestCase("gpt-oss:*", "gpt-oss:20b", true)]
    [TestCase("gpt-oss:*", "gpt-oss:120b", true)]
    [TestCase("gpt-oss:*", "gpt-oss", true)]
    [TestCase("gpt-oss:*", "gpt-oss-safeguard:20b", false)]
    [TestCase("gpt-oss:*", "x/gpt-oss:20b", false)]
    [TestCase("*:cloud", "qwen3-coder:cloud", true)]
    [TestCase("*:cloud", "user/model:cloud", true)]
    [TestCase("*:cloud", "kimi-k2:1t-cloud", false)]
    [TestCase("*:cloud", "cloud", false)]
    [TestCase("*-cloud", "kimi-k2:1t-cloud", true)]
    [TestCase("qwen3-*-coder:*", "qwen3-30b-coder:latest", true)]
    [TestCase("qwen3-*-coder:*", "qwen3-30b-a3b-coder:q4", true)]
    [TestCase("qwen3-*-coder:*", "qwen3-coder:480b", false)]
    [TestCase("qwen3-*-coder:*", "qwen3-30b-coder-x:1", false)]
    [TestCase("gemma3*", "gemma3n", true)]
    [TestCase("gemma3*", "gemma3:latest", true)]
    [TestCase("gemma3*", "gemma3:4b", true)]
    [TestCase("gemma3*", "gemma2:2b", false)]
    [TestCase("qwen3-*-coder", "qwen3-30b-coder", false)]
    [TestCase("qwen3-*-coder", "qwen3-30b-coder:latest", false)]
    [TestCase("gemma3*:*", "gemma3:4b", true)]
    [TestCase("gemma3*:*", "gemma3n:e4b", true)]
    [TestCase("*a*b*", "xaybz:latest", true)]
    [TestCase("*a*b*", "xbya:latest", false)]
    [TestCase("localhost:5000/m", "localhost:5000/m:latest", true)]
    [TestCase("localhost:5000/m", "localhost:5000/m", true)]
    [TestCase("*:*", "anything:at-all", true)]
    [TestCase("*:*", "untagged", true)]
    [TestCase("*", "any/thing:at-all", true)]
    public void Pattern_AllowsExactlyItsModels(string pattern, string model, bool allowed)
    {
        Assert.That(List(pattern).Allows(Encoding.UTF8.GetBytes(model)), Is.EqualTo(allowed));
    }

    [Test]
    public void SeveralPatterns_AnyOneAllows()
    {
        var list = List("gemma3:4b", "gpt-oss:*");

        Assert.That(
            (list.Allows("gemma3:4b"), list.Allows("gpt-oss:20b"), list.Allows("gemma3:12b")),
            Is.EqualTo((true, true, false)));
    }

    [Test]
    public void EmptyList_AllowsNothing()
    {
        var list = List();

        Assert.That((list.AllowsEverything, list.Allows("gemma3")), Is.EqualTo((false, false)));
    }

    [TestCase(new[] { "*" }, true)]
    [TestCase(new[] { "**" }, true)]
    [TestCase(new[] { "gemma3", "*" }, true)]
    [TestCase(new[] { "*:*" }, false)]
    [TestCase(new[] { "gemma3" }, false)]
    public void StarsOnly_AllowsEverything(string[] patterns, bool everything)
    {
        Assert.That(List(patterns).AllowsEverything, Is.EqualTo(everything));
    }

    [Test]
    public void NoList_AllowsEveryName()
    {
        Assert.That(
            (ModelAllowList.Everything.AllowsEverything, ModelAllowList.Everything.Allows("anything"u8), ModelAllowList.Everything.Allows(""u8)),
            Is.EqualTo((true, true, true)));
    }

    /// <summary>Ollama's names are ASCII: a name outside it is no model, whatever the pattern.</summary>
    [TestCase("gemm\u00e43:4b")]
    [TestCase("\u212Aimi-k2:1t")]
    [TestCase("")]
    public void NameNoModelCanHave_Refused(string model)
    {
        Assert.That(List("*:*", "gemma3:4b", "kimi-k2:*").Allows(Encoding.UTF8.GetBytes(model)), Is.False);
    }

    [Test]
    public void InvalidUtf8Name_Refused()
    {
        Assert.That(List("*:*").Allows([0x67, 0xC3, 0x28, 0x3A, 0x31]), Is.False);
    }

    [Test]
    public void NameLongerThanAnyModel_Refused()
    {
        var longest = new string('a', RequestModel.MaxNameLength - 2) + ":1";

        Assert.That((List("*:*").Allows(longest), List("*:*").Allows(longest + "1")), Is.EqualTo((true, false)));
    }

    [TestCase("", "empty")]
    [TestCase(" gemma3", "gemma3")]
    [TestCase("gemma3 ", "gemma3")]
    [TestCase("gem\tma3", "gem")]
    [TestCase("gemm\u00e43", "gemm")]
    public void PatternNoModelCanMatch_RefusedWithItsText(string pattern, string quoted)
    {
        var created = ModelAllowList.TryCreate(["gemma3:4b", pattern], out var list, out var error);

        Assert.That((created, list), Is.EqualTo((false, (ModelAllowList?)null)));
        Assert.That(error, Does.Contain(quoted));
    }

    [Test]
    public void Patterns_KeptAsConfigured()
    {
        Assert.That(List("Gemma3", "gpt-oss:*").Patterns.Select(p => p.Text), Is.EqualTo(new[] { "Gemma3", "gpt-oss:*" }));
    }
}
