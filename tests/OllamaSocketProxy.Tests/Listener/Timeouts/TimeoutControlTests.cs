using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Listener;

namespace OllamaSocketProxy.Tests.Listener.Timeouts;

/// <summary>One cancellation per connection: a deadline armed with its phase, the client's leaving, the host's stop.</summary>
public sealed class TimeoutControlTests
{
    private FakeTimeProvider clock = null!;
    private CancellationTokenSource clientGone = null!;
    private CancellationTokenSource shutdown = null!;

    [SetUp]
    public void SetUp()
    {
        clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        clientGone = new CancellationTokenSource();
        shutdown = new CancellationTokenSource();
    }

    [TearDown]
    public void TearDown()
    {
        clientGone.Dispose();
        shutdown.Dispose();
    }

    private TimeoutControl Create() => new(clock, clientGone.Token, shutdown.Token);

    [Test]
    public void FixedDeadline_FiresAtItsTimeWithThePhaseItWasArmedFor()
    {
        using var timeouts = Create();
        timeouts.Arm(TimeoutReason.RequestHead, TimeSpan.FromSeconds(30));

        clock.Advance(TimeSpan.FromSeconds(29.9));
        Assert.That(timeouts.Token.IsCancellationRequested, Is.False);
        clock.Advance(TimeSpan.FromSeconds(0.1));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(timeouts.Token.IsCancellationRequested, Is.True);
            Assert.That(timeouts.WriteToken.IsCancellationRequested, Is.True);
            Assert.That(timeouts.Phase, Is.EqualTo(TimeoutReason.RequestHead));
            Assert.That(timeouts.Cause, Is.EqualTo(CancelCause.Timeout));
            Assert.That(timeouts.Outcome, Is.EqualTo(TimeoutOutcomes.For(TimeoutReason.RequestHead, CancelCause.Timeout)));
        }
    }

    [Test]
    public void ArmingTheNextPhase_ReplacesThePreviousDeadline()
    {
        using var timeouts = Create();
        timeouts.Arm(TimeoutReason.KeepAlive, TimeSpan.FromSeconds(1));
        timeouts.Arm(TimeoutReason.UpstreamResponse, TimeSpan.FromMinutes(10));

        clock.Advance(TimeSpan.FromMinutes(9));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(timeouts.Token.IsCancellationRequested, Is.False);
            Assert.That(timeouts.Phase, Is.EqualTo(TimeoutReason.UpstreamResponse));
        }
    }

    [Test]
    public void IdleDeadline_IsPushedBackByEveryRearm()
    {
        using var timeouts = Create();
        timeouts.ArmIdle(TimeoutReason.ResponseBody, TimeSpan.FromSeconds(5));
        for (var i = 0; i < 10; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(4));
            timeouts.Rearm(bytesSoFar: i);
        }

        Assert.That(timeouts.Token.IsCancellationRequested, Is.False);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.That(timeouts.Token.IsCancellationRequested, Is.True);
    }

    [Test]
    public void RateDeadline_AllowsTheGraceThenRequiresTheRate()
    {
        using var timeouts = Create();
        timeouts.ArmRate(TimeoutReason.RequestBody, bytesPerSecond: 100, grace: TimeSpan.FromSeconds(5));

        // 400 bytes in the first 4 s: the next byte is due at 5 s of grace + 401/100 s = 9.01 s.
        clock.Advance(TimeSpan.FromSeconds(4));
        timeouts.Rearm(bytesSoFar: 400);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.That(timeouts.Token.IsCancellationRequested, Is.False);
        clock.Advance(TimeSpan.FromSeconds(0.02));
        using (Assert.EnterMultipleScope())
        {
            Assert.That(timeouts.Token.IsCancellationRequested, Is.True);
            Assert.That(timeouts.Outcome.Rejection, Is.EqualTo(OllamaSocketProxy.Http1.RequestRejection.RequestBodyTimeout));
        }
    }

    [Test]
    public void ClientLeaving_FiresTheTokenButNotTheWriteToken()
    {
        using var timeouts = Create();
        timeouts.Arm(TimeoutReason.UpstreamResponse, TimeSpan.FromMinutes(10));

        clientGone.Cancel();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(timeouts.Token.IsCancellationRequested, Is.True);
            Assert.That(timeouts.WriteToken.IsCancellationRequested, Is.False);
            Assert.That(timeouts.Cause, Is.EqualTo(CancelCause.ClientGone));
        }
    }

    [Test]
    public void HostShutdown_FiresBothTokensAndSaysSo()
    {
        using var timeouts = Create();
        timeouts.ArmIdle(TimeoutReason.ResponseBody, TimeSpan.FromMinutes(5));

        shutdown.Cancel();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(timeouts.Token.IsCancellationRequested, Is.True);
            Assert.That(timeouts.WriteToken.IsCancellationRequested, Is.True);
            Assert.That(timeouts.Cause, Is.EqualTo(CancelCause.Shutdown));
            Assert.That(timeouts.Outcome.Error, Is.EqualTo(ForwarderError.ShutdownTimeout));
        }
    }
}
