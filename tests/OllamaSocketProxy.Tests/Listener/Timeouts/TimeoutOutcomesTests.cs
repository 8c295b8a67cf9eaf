using OllamaSocketProxy.Http1;
using OllamaSocketProxy.Listener;

namespace OllamaSocketProxy.Tests.Listener.Timeouts;

/// <summary>The one table from a phase and the cause of its cancellation to what the client gets.</summary>
public sealed class TimeoutOutcomesTests
{
    private static readonly object[] Table =
    [
        new object[] { "KeepAlive", "Timeout", "CloseQuietly" },
        new object[] { "KeepAlive", "Shutdown", "CloseQuietly" },
        new object[] { "KeepAlive", "ClientGone", "CloseQuietly" },
        new object[] { "RequestHead", "Timeout", "Reject RequestHeadTimeout 408" },
        new object[] { "RequestHead", "ClientGone", "CloseQuietly" },
        new object[] { "RequestHead", "Shutdown", "CloseQuietly" },
        new object[] { "RequestBody", "Timeout", "Reject RequestBodyTimeout 408" },
        new object[] { "RequestBody", "ClientGone", "Report RequestBodyClient 400" },
        new object[] { "RequestBody", "Shutdown", "Report RequestBodyClient 400" },
        new object[] { "UpstreamResponse", "Timeout", "Report ResponseHeadTimeout 504" },
        new object[] { "UpstreamResponse", "Shutdown", "Report ShutdownTimeout 503" },
        new object[] { "UpstreamResponse", "ClientGone", "Report ResponseBodyClient 502" },
        new object[] { "ResponseBody", "Timeout", "Report ResponseBodyUpstream 502" },
        new object[] { "ResponseBody", "Shutdown", "Report ShutdownTimeout 503" },
        new object[] { "ResponseBody", "ClientGone", "Report ResponseBodyClient 502" },
    ];

    [TestCaseSource(nameof(Table))]
    public void PhaseAndCause_MapToTheirOutcome(string phase, string cause, string expected)
    {
        var outcome = TimeoutOutcomes.For(Enum.Parse<TimeoutReason>(phase), Enum.Parse<CancelCause>(cause));

        var described = outcome.Action switch
        {
            TimeoutAction.Reject => $"Reject {outcome.Rejection} {RequestRejections.StatusCode(outcome.Rejection)}",
            TimeoutAction.Report => $"Report {outcome.Error} {ForwarderErrors.StatusCode(outcome.Error)}",
            _ => outcome.Action.ToString(),
        };
        Assert.That(described, Is.EqualTo(expected));
    }

    [Test]
    public void EveryPhase_HasAnOutcomeForEveryCause()
    {
        foreach (var phase in Enum.GetValues<TimeoutReason>())
        {
            foreach (var cause in new[] { CancelCause.Timeout, CancelCause.ClientGone, CancelCause.Shutdown })
            {
                var outcome = TimeoutOutcomes.For(phase, cause);
                Assert.That(Enum.IsDefined(outcome.Action), Is.True, $"{phase}/{cause}");
            }
        }
    }
}
