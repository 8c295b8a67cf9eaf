using System.Buffers;
using System.Text;
using OllamaSocketProxy.Listener.Gateway;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>What runs on every request of a restricted client allocates nothing.</summary>
[NonParallelizable]
public sealed class GatewayAllocationTests
{
    [Test]
    public void ClassifyFindMatchAndGuard_AllocateNothing()
    {
        var path = "/api/%63hat/"u8.ToArray();
        var body = RandomSplits(1).Build(Encoding.UTF8.GetBytes(
            "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"model\":\"x\"}],\"options\":{\"a\":[1,2,{}]},\"model\":\"gemma3\\u003a4b\"}"));
        ModelAllowList.TryCreate(["gpt-oss:*", "gemma3:4b"], out var list, out _);

        var allowed = Request(path, body, list!);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            allowed &= Request(path, body, list!);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That((allowed, allocated), Is.EqualTo((true, 0L)));
    }

    private static bool Request(byte[] path, ReadOnlySequence<byte> body, ModelAllowList list)
    {
        Span<byte> name = stackalloc byte[RequestModel.MaxNameLength];
        var guard = default(RequestModelGuard);
        foreach (var piece in body)
        {
            guard.Observe(piece.Span);
        }

        return GatewayRoute.Classify(path) == GatewayRouteKind.ModelInBody
            && RequestModel.Find(body, ModelField.Model, name, out var length) == RequestModelStatus.Found
            && list.Allows(name[..length])
            && guard.Observe(default);
    }
}
