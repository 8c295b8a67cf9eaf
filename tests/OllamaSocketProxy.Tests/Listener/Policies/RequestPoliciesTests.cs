using OllamaSocketProxy.Listener;

namespace OllamaSocketProxy.Tests.Listener.Policies;

/// <summary>Policies are asked in order; the first refusal ends the asking; only the asked ones hear the end.</summary>
public sealed class RequestPoliciesTests
{
    [Test]
    public void FirstRefusal_StopsTheAskingAndOnlyAskedPoliciesHearTheEnd()
    {
        var calls = new List<string>();
        var policies = new RequestPolicies([
            new RecordingPolicy("a", calls), new RecordingPolicy("b", calls, refuse: true), new RecordingPolicy("c", calls)]);
        var request = new RequestContext();
        request.Begin(0);

        var verdict = policies.OnRequest(request);
        policies.OnCompleted(request);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(verdict.Status, Is.EqualTo(403));
            Assert.That(calls, Is.EqualTo(new[] { "a.request", "b.request", "a.completed", "b.completed" }));
        }
    }

    [Test]
    public void NoRefusal_AsksEveryPolicyAndCompletesEachOnce()
    {
        var calls = new List<string>();
        var policies = new RequestPolicies([new RecordingPolicy("a", calls), new RecordingPolicy("b", calls)]);
        var request = new RequestContext();
        request.Begin(0);

        Assert.That(policies.OnRequest(request).IsRefusal, Is.False);
        policies.OnCompleted(request);
        policies.OnCompleted(request);

        Assert.That(calls, Is.EqualTo(new[] { "a.request", "b.request", "a.completed", "b.completed" }));
    }

    private sealed class RecordingPolicy(string name, List<string> calls, bool refuse = false) : RequestPolicy
    {
        public override PolicyVerdict OnRequest(RequestContext request)
        {
            calls.Add($"{name}.request");
            return refuse ? PolicyVerdict.Refuse(403, "{\"error\":\"no\"}"u8.ToArray()) : PolicyVerdict.Continue;
        }

        public override void OnCompleted(RequestContext request) => calls.Add($"{name}.completed");
    }
}
