using System.Buffers;
using System.Text;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// The model of a held body, read once for every policy that asks: a second question about the same field is answered
/// from the first reading, and nothing of one body is ever the answer about another.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class BodyModelTests
{
    private static (RequestModelStatus Status, string Name) Ask(BodyModel model, ModelField field)
    {
        var name = new byte[RequestModel.MaxNameLength];
        var status = model.Find(field, name, out var length);
        return (status, Encoding.UTF8.GetString(name, 0, length));
    }

    [Test]
    public void SameField_IsAnsweredFromTheFirstReading()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"model":"gemma3:4b","prompt":"hi"}""");
        var model = new BodyModel();
        model.Reset(new ReadOnlySequence<byte>(bytes));
        Assert.That(Ask(model, ModelField.Model), Is.EqualTo((RequestModelStatus.Found, "gemma3:4b")));

        // Bytes that change under it are not read again: the answer is the one already given.
        bytes.AsSpan().Fill((byte)' ');
        Assert.That(Ask(model, ModelField.Model), Is.EqualTo((RequestModelStatus.Found, "gemma3:4b")));
    }

    [Test]
    public void OtherField_IsReadAgain()
    {
        var model = new BodyModel();
        model.Reset(new ReadOnlySequence<byte>("""{"name":"llama3"}"""u8.ToArray()));
        Assert.Multiple(() =>
        {
            Assert.That(Ask(model, ModelField.Model), Is.EqualTo((RequestModelStatus.NotFound, "")));
            Assert.That(Ask(model, ModelField.ModelOrName), Is.EqualTo((RequestModelStatus.Found, "llama3")));
            Assert.That(Ask(model, ModelField.Model), Is.EqualTo((RequestModelStatus.NotFound, "")));
        });
    }

    [Test]
    public void Reset_ForgetsTheLastBody()
    {
        var model = new BodyModel();
        model.Reset(new ReadOnlySequence<byte>("""{"model":"gemma3:4b"}"""u8.ToArray()));
        Assert.That(Ask(model, ModelField.Model), Is.EqualTo((RequestModelStatus.Found, "gemma3:4b")));

        model.Reset(new ReadOnlySequence<byte>("""{"model":"gpt-oss:120b"}"""u8.ToArray()));
        Assert.That(Ask(model, ModelField.Model), Is.EqualTo((RequestModelStatus.Found, "gpt-oss:120b")));

        model.Reset(default);
        Assert.That(Ask(model, ModelField.Model), Is.EqualTo((RequestModelStatus.NotFound, "")));
    }

    [Test]
    public void RequestContext_HeldBodyOfTheNextRequest_IsReadAfresh()
    {
        // A pipe reuses its memory: the next request's body may lie in the same bytes, with the same length.
        var buffer = """{"model":"gemma3:4b"}"""u8.ToArray();
        var request = new RequestContext();
        request.Begin(0);
        request.HeldBody = new ReadOnlySequence<byte>(buffer);
        Assert.That(Ask(request.BodyModel, ModelField.Model), Is.EqualTo((RequestModelStatus.Found, "gemma3:4b")));

        request.End();
        request.Begin(0);
        Assert.That(Ask(request.BodyModel, ModelField.Model), Is.EqualTo((RequestModelStatus.NotFound, "")));
        """{"model":"gemma3:9b"}"""u8.CopyTo(buffer);
        request.HeldBody = new ReadOnlySequence<byte>(buffer);
        Assert.That(Ask(request.BodyModel, ModelField.Model), Is.EqualTo((RequestModelStatus.Found, "gemma3:9b")));
    }
}
