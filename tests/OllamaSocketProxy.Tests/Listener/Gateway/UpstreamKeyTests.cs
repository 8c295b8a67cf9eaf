using System.Text;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>OLLAMA_API_KEY as one key or a comma-separated list; what a key shows of itself in logs, and what it sends upstream.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class UpstreamKeyTests
{
    private const string Variable = "OLLAMA_API_KEY";

    [Test]
    public void OneKey_OneKeyAtPositionOne()
    {
        var keys = UpstreamKey.ParseList("sk-first-0001abcd");

        Assert.That(keys, Has.Count.EqualTo(1));
        Assert.That(keys[0].Position, Is.EqualTo(1));
        Assert.That(keys[0].Label, Is.EqualTo("key#1 (…abcd)"));
    }

    [Test]
    public void CommaSeparatedKeys_TrimmedAndNumberedInOrder()
    {
        var keys = UpstreamKey.ParseList("  alpha-key-1111 ,\tbeta-key-2222,gamma-key-3333  ");

        Assert.That(keys.Select(k => k.Position), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(keys.Select(k => k.Label), Is.EqualTo(new[] { "key#1 (…1111)", "key#2 (…2222)", "key#3 (…3333)" }));
        Assert.That(Encoding.ASCII.GetString(keys[1].AuthorizationLine), Is.EqualTo("Authorization: Bearer beta-key-2222\r\n"));
    }

    [Test]
    public void AuthorizationLine_IsTheBearerFieldLineWithTheTrimmedKey()
    {
        var key = UpstreamKey.ParseList(" secret-value ")[0];

        Assert.That(Encoding.ASCII.GetString(key.AuthorizationLine), Is.EqualTo("Authorization: Bearer secret-value\r\n"));
    }

    [TestCase("abcde", "key#1 (…bcde)")]
    [TestCase("abcd", "key#1")]
    [TestCase("abc", "key#1")]
    [TestCase("a", "key#1")]
    public void Label_ShowsAtMostTheLastFourCharacters_AndNoneOfAShortKey(string key, string label)
    {
        var parsed = UpstreamKey.ParseList(key)[0];

        Assert.That(parsed.Label, Is.EqualTo(label));
        Assert.That(parsed.ToString(), Is.EqualTo(label));
    }

    [Test]
    public void Label_NeverHoldsMoreThanFourCharactersOfTheKey()
    {
        const string key = "0123456789abcdefghij0123456789ABCDEFGHIJ";
        var label = UpstreamKey.ParseList(key)[0].Label;

        for (var length = UpstreamKey.LabelTailLength + 1; length <= key.Length; length++)
        {
            for (var start = 0; start + length <= key.Length; start++)
            {
                Assert.That(label, Does.Not.Contain(key.Substring(start, length)));
            }
        }
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("   ")]
    public void Missing_RequiredError(string? value)
    {
        var error = Assert.Throws<ProxyConfigurationException>(() => UpstreamKey.ParseList(value))!;

        Assert.That(error.Variable, Is.EqualTo(Variable));
        Assert.That(error.Message, Is.EqualTo("OLLAMA_API_KEY is required but not set"));
    }

    [TestCase("first-key,,third-key", 2, 3)]
    [TestCase("first-key, ,third-key", 2, 3)]
    [TestCase(",first-key", 1, 2)]
    [TestCase("first-key,", 2, 2)]
    [TestCase(",", 1, 2)]
    public void EmptyElement_ErrorNamesItsPosition(string value, int position, int count)
    {
        var error = Assert.Throws<ProxyConfigurationException>(() => UpstreamKey.ParseList(value))!;

        Assert.That(error.Variable, Is.EqualTo(Variable));
        Assert.That(error.Message, Does.StartWith($"OLLAMA_API_KEY has an empty key at position {position} of {count}"));
        AssertNoKeyIn(error.Message, value);
    }

    [Test]
    public void DuplicateKey_ErrorNamesBothPositionsButNotTheKey()
    {
        const string value = "one-secret-key, other-secret-key ,one-secret-key";

        var error = Assert.Throws<ProxyConfigurationException>(() => UpstreamKey.ParseList(value))!;

        Assert.That(error.Message, Is.EqualTo("OLLAMA_API_KEY keys 1 and 3 are the same key"));
        AssertNoKeyIn(error.Message, value);
    }

    [TestCase("good-key-one,bad key", 2)]
    [TestCase("bad\u0001key", 1)]
    [TestCase("good-key-one,b\u00e4d-key", 2)]
    [TestCase("bad\rkey,good-key-two", 1)]
    [TestCase("good-key-one,bad\u007fkey", 2)]
    public void InvalidCharacter_ErrorNamesThePositionButNotTheKey(string value, int position)
    {
        var error = Assert.Throws<ProxyConfigurationException>(() => UpstreamKey.ParseList(value))!;

        Assert.That(error.Message, Is.EqualTo($"OLLAMA_API_KEY key {position} may contain only visible ASCII characters (no spaces or control characters)"));
        AssertNoKeyIn(error.Message, value);
    }

    private static void AssertNoKeyIn(string message, string value)
    {
        foreach (var key in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.That(message, Does.Not.Contain(key));
        }
    }
}
