using System.Reflection;
using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>The per-request state is reset as a unit: nothing of one request survives into the next.</summary>
public sealed class RequestContextTests
{
    [Test]
    public void Begin_ResetsEverySettableField()
    {
        var fresh = new RequestContext();
        var used = new RequestContext();
        used.Begin(1);
        var settable = typeof(RequestContext).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(property => property.SetMethod is { IsPublic: true })
            .ToList();
        Assert.That(settable, Has.Count.GreaterThan(10), "The test must see the context's fields.");
        foreach (var property in settable)
        {
            property.SetValue(used, NonDefault(property.PropertyType));
            Assert.That(property.GetValue(used), Is.Not.EqualTo(property.GetValue(fresh)), $"{property.Name} could not be changed.");
        }

        used.Begin(2);

        foreach (var property in settable)
        {
            Assert.That(property.GetValue(used), Is.EqualTo(property.GetValue(fresh)), $"{property.Name} survived Begin.");
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(used.InProgress, Is.True);
            Assert.That(used.Log.Started, Is.EqualTo(2));
            Assert.That(used.Log.Status, Is.Zero);
        }
    }

    [Test]
    public void End_MarksTheRequestOverAndDropsTheHeldBody()
    {
        var context = new RequestContext();
        context.Begin(1);
        context.HeldBody = new System.Buffers.ReadOnlySequence<byte>(new byte[3]);

        context.End();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(context.InProgress, Is.False);
            Assert.That(context.HeldBody.IsEmpty, Is.True);
        }
    }

    private sealed class NoTransform : IResponseTransform
    {
        public int MaxBodySize => 0;

        public bool Applies(ResponseHead response) => false;

        public bool TryTransform(in System.Buffers.ReadOnlySequence<byte> body, System.Buffers.IBufferWriter<byte> output) => false;
    }

    private static object NonDefault(Type type) => type switch
    {
        _ when type == typeof(bool) => true,
        _ when type == typeof(int) => 7,
        _ when type == typeof(MappedTarget) => new MappedTarget(TargetKind.Root, TargetPrefix.Api, 3),
        _ when type == typeof(BodyFraming) => new BodyFraming(BodyKind.ContentLength, 5),
        _ when type == typeof(System.Buffers.ReadOnlySequence<byte>) => new System.Buffers.ReadOnlySequence<byte>(new byte[5]),
        _ when type == typeof(OllamaSocketProxy.Listener.Gateway.ClientDefinition) => new OllamaSocketProxy.Listener.Gateway.ClientDefinition("someone", new byte[32]),
        _ when type == typeof(string) => "text",
        _ when type == typeof(ReadOnlyMemory<byte>) => new ReadOnlyMemory<byte>(new byte[2]),
        _ when type == typeof(IResponseTransform) => new NoTransform(),
        _ when type == typeof(PolicyVerdict) => PolicyVerdict.Refuse(429, new byte[] { 1 }),
        _ when type == typeof(object) => new object(),
        _ => throw new AssertionException($"No test value for {type}: add one, and make Begin reset it."),
    };
}
