using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>A reload of the clients file keeps each remaining client's limiter state and adopts its new limits.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ClientLimitersTests
{
    private static KeyValuePair<string, ClientLimits> Client(string name, int? maxConcurrent = null, int? requestsPerMinute = null) =>
        new(name, new ClientLimits(maxConcurrent, requestsPerMinute));

    [Test]
    public void Reload_ReturnsALimiterPerClientInOrder_FoundByName()
    {
        var store = new ClientLimiters(new FakeTimeProvider());

        var limiters = store.Reload([Client("open-webui", 4, 60), Client("kids", requestsPerMinute: 10)]);

        Assert.That(limiters.Select(limiter => limiter.ClientName), Is.EqualTo(new[] { "open-webui", "kids" }));
        Assert.That(store.TryGet("kids", out var kids), Is.True);
        Assert.That(kids, Is.SameAs(limiters[1]));
        Assert.That(kids!.Limits, Is.EqualTo(new ClientLimits(null, 10)));
        Assert.That(store.TryGet("laptop", out _), Is.False);
        Assert.That(store.Count, Is.EqualTo(2));
    }

    [Test]
    public void Reload_KeepsTheTokensAndRequestsInFlightOfAClientThatStays()
    {
        var store = new ClientLimiters(new FakeTimeProvider());
        var kids = store.Reload([Client("kids", 2, 3)])[0];
        Assert.That(kids.TryAcquire(out _), Is.True);
        Assert.That(kids.TryAcquire(out _), Is.True);

        var reloaded = store.Reload([Client("kids", 2, 3), Client("laptop")]);

        Assert.That(reloaded[0], Is.SameAs(kids));
        Assert.That(kids.TryAcquire(out var refusal), Is.False);
        Assert.That(refusal.Kind, Is.EqualTo(LimitKind.Concurrent));
        kids.Release();
        Assert.That(kids.TryAcquire(out _), Is.True, "the third of three tokens");
        kids.Release();
        Assert.That(kids.TryAcquire(out refusal), Is.False);
        Assert.That(refusal.Kind, Is.EqualTo(LimitKind.RequestsPerMinute));
    }

    [Test]
    public void Reload_AdoptsChangedLimits()
    {
        var store = new ClientLimiters(new FakeTimeProvider());
        var kids = store.Reload([Client("kids", 1)])[0];
        Assert.That(kids.TryAcquire(out _), Is.True);

        store.Reload([Client("kids", 2)]);

        Assert.That(kids.TryAcquire(out _), Is.True);
        Assert.That(kids.TryAcquire(out var refusal), Is.False);
        Assert.That(refusal.Limit, Is.EqualTo(2));
    }

    [Test]
    public void Reload_DropsARemovedClient_WhoseLeasesStillRelease()
    {
        var store = new ClientLimiters(new FakeTimeProvider());
        var kids = store.Reload([Client("kids", 1)])[0];
        Assert.That(kids.TryAcquire(out _), Is.True);

        store.Reload([Client("laptop")]);
        kids.Release();

        Assert.That(store.TryGet("kids", out _), Is.False);
        Assert.That(kids.InFlight, Is.Zero);
    }

    [Test]
    public void Reload_ClientAddedAgainLater_StartsAfresh()
    {
        var store = new ClientLimiters(new FakeTimeProvider());
        var first = store.Reload([Client("kids", requestsPerMinute: 1)])[0];
        Assert.That(first.TryAcquire(out _), Is.True);
        store.Reload([]);

        var second = store.Reload([Client("kids", requestsPerMinute: 1)])[0];

        Assert.That(second, Is.Not.SameAs(first));
        Assert.That(second.TryAcquire(out _), Is.True);
    }

    [Test]
    public void Reload_WithADuplicateName_IsRefusedAndChangesNothing()
    {
        var store = new ClientLimiters(new FakeTimeProvider());
        var kids = store.Reload([Client("kids", 1)])[0];

        var error = Assert.Throws<ArgumentException>(() => store.Reload([Client("kids", 5), Client("kids", 6)]));

        Assert.That(error!.Message, Does.StartWith("client \"kids\" is listed twice"));
        Assert.That(kids.Limits, Is.EqualTo(new ClientLimits(1, null)));
        Assert.That(store.TryGet("kids", out var found) && ReferenceEquals(found, kids), Is.True);
    }
}
