using System.Net;
using OllamaSocketProxy.Listener.Gateway;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary><c>PROXY_ALLOW_CIDRS</c>: IPv4 and IPv6 ranges, bare addresses, IPv4-mapped peers, and clear errors.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class PeerAllowListTests
{
    private const string Home = "127.0.0.0/8, 192.168.1.0/24 ,::1/128,fd00::/8";

    [TestCase("127.0.0.1", true)]
    [TestCase("127.255.255.254", true)]
    [TestCase("192.168.1.0", true)]
    [TestCase("192.168.1.255", true)]
    [TestCase("192.168.2.1", false)]
    [TestCase("10.0.0.1", false)]
    [TestCase("::1", true)]
    [TestCase("::2", false)]
    [TestCase("fd12:3456::1", true)]
    [TestCase("fe80::1", false)]
    [TestCase("2001:db8::1", false)]
    [TestCase("::ffff:192.168.1.5", true)] // an IPv4 peer on a dual-mode [::] socket
    [TestCase("::ffff:127.0.0.1", true)]
    [TestCase("::ffff:192.168.2.5", false)]
    [TestCase("::192.168.1.5", false)] // IPv4-compatible, not mapped: an IPv6 address
    public void Allows_MatchesIPv4AndIPv6Ranges_AndMappedAddressesAsIPv4(string peer, bool allowed)
    {
        var list = PeerAllowList.Parse(Home);

        Assert.That(list.Allows(IPAddress.Parse(peer)), Is.EqualTo(allowed));
    }

    [TestCase("192.168.1.7", "192.168.1.7", true)]
    [TestCase("192.168.1.7", "192.168.1.8", false)]
    [TestCase("192.168.1.7", "::ffff:192.168.1.7", true)]
    [TestCase("2001:db8::7", "2001:db8::7", true)]
    [TestCase("2001:db8::7", "2001:db8::8", false)]
    public void BareAddress_IsOneHost(string value, string peer, bool allowed)
    {
        var list = PeerAllowList.Parse(value);

        Assert.That(list.Allows(IPAddress.Parse(peer)), Is.EqualTo(allowed));
    }

    [TestCase("0.0.0.0/0", "203.0.113.9", true)]
    [TestCase("0.0.0.0/0", "::ffff:203.0.113.9", true)]
    [TestCase("0.0.0.0/0", "2001:db8::1", false)]
    [TestCase("::/0", "2001:db8::1", true)]
    [TestCase("::/0", "203.0.113.9", false)]
    [TestCase("::/0", "::ffff:203.0.113.9", false)] // a mapped peer is an IPv4 peer
    [TestCase("::ffff:10.0.0.0/104", "10.1.2.3", true)] // a mapped range is an IPv4 range
    [TestCase("::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true)]
    [TestCase("::ffff:10.0.0.0/104", "11.1.2.3", false)]
    [TestCase("192.168.1.7/24", "192.168.1.200", true)] // host bits ignored, as IPNetwork does
    public void EdgeRanges_MatchByFamily(string value, string peer, bool allowed)
    {
        var list = PeerAllowList.Parse(value);

        Assert.That(list.Allows(IPAddress.Parse(peer)), Is.EqualTo(allowed));
    }

    [Test]
    public void ToString_ListsTheRangesAsMatched()
    {
        var list = PeerAllowList.Parse(" 10.0.0.1 , ::1, 192.168.1.7/24,,::ffff:172.16.0.0/108 ");

        Assert.That(list.ToString(), Is.EqualTo("10.0.0.1/32,192.168.1.0/24,172.16.0.0/12,::1/128"));
    }

    [TestCase("10.0.0.0/33", "10.0.0.0/33")]
    [TestCase("::/129", "::/129")]
    [TestCase("10.0.0.0/", "10.0.0.0/")]
    [TestCase("10.0.0.0/-1", "10.0.0.0/-1")]
    [TestCase("10.0.0.0/+8", "10.0.0.0/+8")]
    [TestCase("10.0.0.0/8/8", "10.0.0.0/8/8")]
    [TestCase("192.168.1.300", "192.168.1.300")]
    [TestCase("192.168.1", "192.168.1")] // inet_aton would read 192.168.0.1
    [TestCase("10/8", "10/8")] // IPNetwork would read 0.0.0.0/8
    [TestCase("10", "10")]
    [TestCase("010.0.0.1", "010.0.0.1")] // inet_aton would read octal: 8.0.0.1
    [TestCase("0x7f.0.0.1", "0x7f.0.0.1")]
    [TestCase("1.2.3.4.5", "1.2.3.4.5")]
    [TestCase("fe80::1%eth0", "fe80::1%eth0")]
    [TestCase("localhost", "localhost")]
    [TestCase("192.168.1.0 /24", "192.168.1.0 /24")]
    [TestCase("127.0.0.1;10.0.0.0/8", "127.0.0.1;10.0.0.0/8")]
    [TestCase("::1, 10.0.0.0/8, nonsense", "nonsense")]
    public void InvalidElement_IsNamedInTheError(string value, string element)
    {
        var error = Assert.Throws<FormatException>(() => PeerAllowList.Parse(value));

        Assert.That(error!.Message, Is.EqualTo($"'{element}' is not an IPv4 or IPv6 address or CIDR range (such as 192.168.1.0/24 or ::1/128)"));
    }

    [TestCase("")]
    [TestCase(" , ,")]
    public void NoElement_IsAnError(string value)
    {
        var error = Assert.Throws<FormatException>(() => PeerAllowList.Parse(value));

        Assert.That(error!.Message, Is.EqualTo("lists no address or range (such as 192.168.1.0/24 or ::1/128)"));
    }

    [Test]
    public void Allows_AllocatesNothing()
    {
        var list = PeerAllowList.Parse(Home);
        IPAddress[] peers = [IPAddress.Parse("192.168.1.5"), IPAddress.Parse("::ffff:192.168.1.5"), IPAddress.Parse("fd00::1"), IPAddress.Parse("8.8.8.8")];
        var allowed = 0;

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            foreach (var peer in peers)
            {
                allowed += list.Allows(peer) ? 1 : 0;
            }
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(allowed, Is.EqualTo(3_000));
    }
}
