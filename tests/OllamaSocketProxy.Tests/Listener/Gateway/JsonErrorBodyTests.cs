using System.Text;
using System.Text.Json;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>Ollama's <c>{"error":"…"}</c> with a configured name inside: always valid JSON that reads back as the message.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class JsonErrorBodyTests
{
    [Test]
    public void PlainMessage_QuotesEscapedWithABackslash()
    {
        var body = JsonErrorBody.Create("client \"kids\" is over its limit of 4 concurrent requests");

        Assert.That(Encoding.UTF8.GetString(body), Is.EqualTo("{\"error\":\"client \\\"kids\\\" is over its limit of 4 concurrent requests\"}"));
    }

    [TestCase("back\\slash", "back\\\\slash")]
    [TestCase("line\r\nbreak\ttab", "line\\r\\nbreak\\ttab")]
    [TestCase("nul\0bell\u0007esc\u001b", "nul\\u0000bell\\u0007esc\\u001b")]
    [TestCase("Jürgen 日本", "Jürgen 日本")]
    [TestCase("</script>", "</script>")]
    public void NameWithSpecialCharacters_IsEscapedPerRfc8259(string message, string expected)
    {
        var body = JsonErrorBody.Create(message);

        Assert.That(Encoding.UTF8.GetString(body), Is.EqualTo("{\"error\":\"" + expected + "\"}"));
        using var json = JsonDocument.Parse(body);
        Assert.That(json.RootElement.GetProperty("error").GetString(), Is.EqualTo(message));
    }

    [Test]
    public void LoneSurrogate_BecomesTheReplacementCharacter_NotInvalidUtf8()
    {
        var body = JsonErrorBody.Create("a\ud800b");

        using var json = JsonDocument.Parse(body);
        Assert.That(json.RootElement.GetProperty("error").GetString(), Is.EqualTo("a\ufffdb"));
    }
}
