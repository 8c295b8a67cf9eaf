using Microsoft.Extensions.Time.Testing;
using OllamaSocketProxy.Tests.Infrastructure;
using OllamaSocketProxy.Upstream;
using UpstreamConnection = OllamaSocketProxy.Upstream.UpstreamConnection;

namespace OllamaSocketProxy.Tests.Upstream;

/// <summary>
/// <see cref="UpstreamPool"/> alone, over plain TCP to an origin on 127.0.0.1 that only accepts (a
/// <see cref="SilentListener"/>): last in, first out; a connection idle for <c>PROXY_UPSTREAM_POOL_IDLE_TIMEOUT</c>, or
/// closed or written to by the upstream while idle, is never rented; prewarming tops the pool up; a disposed pool keeps
/// nothing (docs/BEHAVIOUR.md#connections). Time passes on a <see cref="FakeTimeProvider"/>. Through the proxy:
/// <see cref="UpstreamReuseTests"/>.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class UpstreamPoolTests
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(50);

    [Test]
    public async Task ReturnedConnection_IsRentedAgainAsAPooledOne()
    {
        await using var origin = new SilentListener();
        await using var pool = Pool(origin, new FakeTimeProvider());

        var first = await RentAsync(pool);
        pool.Return(first);
        var idle = pool.IdleCount;
        var second = await RentAsync(pool);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.FromPool, Is.True, "The connection rented again is not marked as a pooled one.");
            Assert.That(second, Is.SameAs(first));
            Assert.That(idle, Is.EqualTo(1));
            Assert.That(pool.IdleCount, Is.Zero);
            Assert.That(await AcceptedAsync(origin, 1), Is.EqualTo(1));
        }
    }

    [Test]
    public async Task NewConnection_IsNotMarkedAsPooled()
    {
        await using var origin = new SilentListener();
        await using var pool = Pool(origin, new FakeTimeProvider());

        await using var connection = await RentAsync(pool);

        Assert.That(connection.FromPool, Is.False);
    }

    /// <summary>The warmest connection carries the next request; the coldest age out.</summary>
    [Test]
    public async Task TwoReturned_TheLastReturnedIsRentedFirst()
    {
        await using var origin = new SilentListener();
        await using var pool = Pool(origin, new FakeTimeProvider());
        var older = await RentAsync(pool);
        var newer = await RentAsync(pool);

        pool.Return(older);
        pool.Return(newer);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await RentAsync(pool), Is.SameAs(newer));
            Assert.That(await RentAsync(pool), Is.SameAs(older));
        }
    }

    [Test]
    public async Task ConnectionIdleJustUnderTheTimeout_IsRentedAgain()
    {
        var clock = new FakeTimeProvider();
        await using var origin = new SilentListener();
        await using var pool = Pool(origin, clock);
        var connection = await RentAsync(pool);

        pool.Return(connection);
        clock.Advance(IdleTimeout - TimeSpan.FromSeconds(1));

        Assert.That(await RentAsync(pool), Is.SameAs(connection));
    }

    [Test]
    public async Task ConnectionIdleForTheTimeout_IsClosedAndANewOneOpened()
    {
        var clock = new FakeTimeProvider();
        await using var origin = new SilentListener();
        await using var pool = Pool(origin, clock);
        var connection = await RentAsync(pool);

        pool.Return(connection);
        clock.Advance(IdleTimeout);
        var next = await RentAsync(pool);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(next, Is.Not.SameAs(connection));
            Assert.That(await origin.ClosedByPeerAsync(0), Is.True, "The expired connection was left open.");
            Assert.That(await AcceptedAsync(origin, 2), Is.EqualTo(2));
        }
    }

    /// <summary>The sweep closes what expired even when nobody rents (a pooled connection holds a socket on both sides).</summary>
    [Test]
    public async Task ConnectionIdleForTheTimeoutWithNoRent_IsClosedByTheSweep()
    {
        var clock = new FakeTimeProvider();
        await using var origin = new SilentListener();
        await using var pool = Pool(origin, clock);

        pool.Return(await RentAsync(pool));
        clock.Advance(IdleTimeout);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await origin.ClosedByPeerAsync(0), Is.True, "The sweep left the expired connection open.");
            Assert.That(pool.IdleCount, Is.Zero);
        }
    }

    /// <summary>
    /// While idle, only the end of the stream or bytes nobody asked for can arrive: either way the connection must not
    /// carry a request, which would fail or read a stale response.
    /// </summary>
    [TestCase("close")]
    [TestCase("stray bytes")]
    public async Task UpstreamClosesOrWritesWhileIdle_ConnectionIsNotRented(string what)
    {
        await using var origin = new SilentListener();
        await using var pool = Pool(origin, new FakeTimeProvider());
        var connection = await RentAsync(pool);
        pool.Return(connection);

        if (what == "close")
        {
            await origin.CloseAsync(0);
        }
        else
        {
            await origin.SendAsync(0, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
        }

        await EventTimeout.UntilAsync(() => connection.ClosedWhileIdle);
        var next = await RentAsync(pool);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(next, Is.Not.SameAs(connection));
            Assert.That(await AcceptedAsync(origin, 2), Is.EqualTo(2));
        }
    }

    [Test]
    public async Task ConnectAsync_NeverTakesAPooledConnection()
    {
        await using var origin = new SilentListener();
        await using var pool = Pool(origin, new FakeTimeProvider());
        var pooled = await RentAsync(pool);
        pool.Return(pooled);

        await using var fresh = await pool.ConnectAsync(CancellationToken.None).AsTask().OrTimeoutAsync();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fresh, Is.Not.SameAs(pooled));
            Assert.That(fresh.FromPool, Is.False);
            Assert.That(pool.IdleCount, Is.EqualTo(1));
            Assert.That(await AcceptedAsync(origin, 2), Is.EqualTo(2));
        }
    }

    [Test]
    public async Task Prewarm_OpensConnectionsUntilThatManyAreIdle()
    {
        await using var origin = new SilentListener();
        await using var pool = Pool(origin, new FakeTimeProvider(), prewarm: 2);

        pool.Prewarm();
        await EventTimeout.UntilAsync(() => pool.IdleCount == 2);
        var taken = await RentAsync(pool);

        // The first warm-up may not have let go of its flag yet: asking again until the pool is full is what the
        // sweep does, and it never opens more than the shortfall.
        await EventTimeout.UntilAsync(() =>
        {
            pool.Prewarm();
            return pool.IdleCount == 2;
        });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(taken.FromPool, Is.True);
            Assert.That(await AcceptedAsync(origin, 3), Is.EqualTo(3), "Prewarming opened more than the shortfall.");
        }
    }

    [Test]
    public async Task PrewarmZero_OpensNothing()
    {
        await using var origin = new SilentListener();
        await using var pool = Pool(origin, new FakeTimeProvider(), prewarm: 0);

        pool.Prewarm();
        await using var rented = await RentAsync(pool);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(rented.FromPool, Is.False);
            Assert.That(await AcceptedAsync(origin, 1), Is.EqualTo(1));
        }
    }

    [Test]
    public async Task Dispose_ClosesIdleConnectionsAndAConnectionReturnedLater()
    {
        await using var origin = new SilentListener();
        var pool = Pool(origin, new FakeTimeProvider());
        var idle = await RentAsync(pool);
        var busy = await RentAsync(pool);
        pool.Return(idle);

        await pool.DisposeAsync();
        pool.Return(busy);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(await origin.ClosedByPeerAsync(0), Is.True, "An idle connection survived the pool.");
            Assert.That(await origin.ClosedByPeerAsync(1), Is.True, "A connection returned to a disposed pool was kept.");
            Assert.That(pool.IdleCount, Is.Zero);
        }
    }

    private static UpstreamPool Pool(SilentListener origin, TimeProvider clock, int prewarm = 0) => new(
        new UpstreamConnector(new UpstreamEndpoint("127.0.0.1", origin.Port, UseTls: false), null, TimeSpan.FromSeconds(10), clock),
        IdleTimeout, prewarm, clock);

    /// <summary>The connections the origin accepted, once every connect the pool made has reached it.</summary>
    private static async Task<int> AcceptedAsync(SilentListener origin, int atLeast)
    {
        await origin.WaitForAcceptedAsync(atLeast);
        return origin.AcceptedConnections;
    }

    private static async Task<UpstreamConnection> RentAsync(UpstreamPool pool) =>
        await pool.RentAsync(CancellationToken.None).AsTask().OrTimeoutAsync();
}
