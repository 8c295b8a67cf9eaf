using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Http1;

/// <summary>RFC 9110 §9, §15.5.6, §15.6.2: the methods the proxy serves, and how it refuses the rest.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestMethodTests
{
    [TestCase(RequestMethod.Get)]
    [TestCase(RequestMethod.Head)]
    [TestCase(RequestMethod.Post)]
    [TestCase(RequestMethod.Put)]
    [TestCase(RequestMethod.Patch)]
    [TestCase(RequestMethod.Delete)]
    [TestCase(RequestMethod.Options)]
    public void ServedMethod_NotRefused(RequestMethod method)
    {
        Assert.That(() => RequestMethods.ThrowIfNotServed(method), Throws.Nothing);
    }

    [TestCase(RequestMethod.Connect)]
    [TestCase(RequestMethod.Trace)]
    public void ConnectOrTrace_Refused405(RequestMethod method)
    {
        var refused = Assert.Throws<RequestRejectionException>(() => RequestMethods.ThrowIfNotServed(method));

        Assert.That((refused.Reason, RequestRejections.StatusCode(refused.Reason)), Is.EqualTo((RequestRejection.MethodNotAllowed, 405)));
    }

    [Test]
    public void OtherMethod_Refused501()
    {
        var refused = Assert.Throws<RequestRejectionException>(() => RequestMethods.ThrowIfNotServed(RequestMethod.Other));

        Assert.That((refused.Reason, RequestRejections.StatusCode(refused.Reason)), Is.EqualTo((RequestRejection.MethodNotImplemented, 501)));
    }

    [Test]
    public void AllowField_ListsEveryServedMethodAndNoOther()
    {
        var allow = Latin1.Text(RequestMethods.AllowField);
        var listed = allow["Allow: ".Length..^2].Split(", ");

        var served = Enum.GetValues<RequestMethod>()
            .Where(method => method != RequestMethod.Other)
            .Where(method =>
            {
                try
                {
                    RequestMethods.ThrowIfNotServed(method);
                    return true;
                }
                catch (RequestRejectionException)
                {
                    return false;
                }
            })
            .Select(method => method.ToString().ToUpperInvariant());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(allow, Does.StartWith("Allow: ").And.EndWith("\r\n"));
            Assert.That(listed, Is.EquivalentTo(served));
        }
    }
}
