using System.Buffers;
using System.Text;
using System.Text.Json;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>The refusals' bodies: Ollama's error shape, valid JSON whatever the model or client is called.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ModelErrorsTests
{
    private static string NotAllowed(byte[] model, string client)
    {
        var output = new ArrayBufferWriter<byte>();
        ModelErrors.WriteNotAllowed(output, model, client);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static string ErrorText(string body)
    {
        using var document = JsonDocument.Parse(body);
        Assert.That(document.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "error" }));
        return document.RootElement.GetProperty("error").GetString()!;
    }

    [Test]
    public void ModelNotAllowed_OllamaErrorShape()
    {
        Assert.That(NotAllowed("x"u8.ToArray(), "kids"), Is.EqualTo("""{"error":"model \"x\" is not allowed for client \"kids\""}"""));
    }

    [TestCase("a\"b", "a\\\"b")]
    [TestCase("a\\b", "a\\\\b")]
    [TestCase("a\nb\r\tc", "a\\nb\\r\\tc")]
    [TestCase("\u0000\u0001\u001f\u007f", "\\u0000\\u0001\\u001f\u007f")]
    [TestCase("</script><script>alert(1)</script>", "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e")]
    [TestCase("a&b", "a\\u0026b")]
    [TestCase("\u2028\u2029", "\\u2028\\u2029")]
    [TestCase("gemm\u00e43 \U0001F600", "gemm\u00e43 \U0001F600")]
    public void HostileModelName_EscapedAndReadBack(string model, string escaped)
    {
        var body = NotAllowed(Encoding.UTF8.GetBytes(model), "kids");

        Assert.That(body, Is.EqualTo("{\"error\":\"model \\\"" + escaped + "\\\" is not allowed for client \\\"kids\\\"\"}"));
        Assert.That(ErrorText(body), Is.EqualTo($"model \"{model}\" is not allowed for client \"kids\""));
    }

    [Test]
    public void InvalidUtf8ModelName_ReplacementCharacters()
    {
        var body = NotAllowed([0x61, 0xC3, 0x28, 0xFF, 0xE2, 0x82], "kids");

        Assert.That(ErrorText(body), Is.EqualTo("model \"a\uFFFD(\uFFFD\uFFFD\" is not allowed for client \"kids\""));
    }

    [TestCase("kids")]
    [TestCase("the \"kids\" <room>")]
    [TestCase("\\\n\u2028\uD800")]
    public void HostileClientName_EscapedAndReadBack(string client)
    {
        var notAllowed = NotAllowed("gemma3"u8.ToArray(), client);
        var output = new ArrayBufferWriter<byte>();
        ModelErrors.WriteManageRefused(output, client);
        var manage = Encoding.UTF8.GetString(output.WrittenSpan);
        var readable = client.Replace('\uD800', '\uFFFD');

        Assert.That(
            (ErrorText(notAllowed), ErrorText(manage)),
            Is.EqualTo(($"model \"gemma3\" is not allowed for client \"{readable}\"", $"client \"{readable}\" may not manage models")));
    }

    [Test]
    public void ManageRefused_OllamaErrorShape()
    {
        var output = new ArrayBufferWriter<byte>();
        ModelErrors.WriteManageRefused(output, "kids");

        Assert.That(Encoding.UTF8.GetString(output.WrittenSpan), Is.EqualTo("""{"error":"client \"kids\" may not manage models"}"""));
    }

    [TestCase(RequestModelStatus.NotFound, "request body names no model (a top-level \"model\" within its first 64 KiB)")]
    [TestCase(RequestModelStatus.Invalid, "request body is not valid JSON, or its model is not a valid name")]
    [TestCase(RequestModelStatus.Ambiguous, "request body names more than one model")]
    public void ModelRequired_OneTextPerStatus(RequestModelStatus status, string text)
    {
        Assert.That(ErrorText(Encoding.UTF8.GetString(ModelErrors.ModelRequired(status))), Is.EqualTo(text));
    }

    [Test]
    public void InvalidModelList_OllamaErrorShape()
    {
        Assert.That(ErrorText(Encoding.UTF8.GetString(ModelErrors.InvalidModelList)), Is.EqualTo("upstream sent an invalid model list"));
    }
}
