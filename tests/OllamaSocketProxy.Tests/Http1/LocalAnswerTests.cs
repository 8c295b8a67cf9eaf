using OllamaSocketProxy.Http1;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>README.md#routing: what the proxy answers itself, by method and target.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class LocalAnswerTests
{
    [TestCase(RequestMethod.Options, TargetKind.Asterisk)]
    [TestCase(RequestMethod.Options, TargetKind.Root)]
    [TestCase(RequestMethod.Options, TargetKind.Forward)]
    public void Options_AnsweredLocallyOnAnyTarget(RequestMethod method, TargetKind target)
    {
        Assert.That(LocalAnswers.For(method, target), Is.EqualTo(LocalAnswer.Options));
    }

    [TestCase(RequestMethod.Get)]
    [TestCase(RequestMethod.Head)]
    public void GetOrHeadOfRoot_AnsweredAsTheHealthCheck(RequestMethod method)
    {
        Assert.That(LocalAnswers.For(method, TargetKind.Root), Is.EqualTo(LocalAnswer.Health));
    }

    [TestCase(RequestMethod.Post, TargetKind.Root)]
    [TestCase(RequestMethod.Delete, TargetKind.Root)]
    [TestCase(RequestMethod.Get, TargetKind.Forward)]
    [TestCase(RequestMethod.Head, TargetKind.Forward)]
    [TestCase(RequestMethod.Post, TargetKind.Forward)]
    [TestCase(RequestMethod.Patch, TargetKind.Forward)]
    public void OtherRequest_Forwarded(RequestMethod method, TargetKind target)
    {
        Assert.That(LocalAnswers.For(method, target), Is.EqualTo(LocalAnswer.None));
    }

    [TestCase(RequestMethod.Get)]
    [TestCase(RequestMethod.Post)]
    [TestCase(RequestMethod.Head)]
    public void AsteriskWithoutOptions_Rejected400(RequestMethod method)
    {
        var refused = Assert.Throws<RequestRejectionException>(() => LocalAnswers.For(method, TargetKind.Asterisk));

        Assert.That((refused.Reason, RequestRejections.StatusCode(refused.Reason)), Is.EqualTo((RequestRejection.InvalidRequestTarget, 400)));
    }
}
