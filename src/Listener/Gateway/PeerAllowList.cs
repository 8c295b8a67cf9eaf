using System.Net;
using System.Net.Sockets;

namespace OllamaSocketProxy.Listener.Gateway;

/// <summary>
/// <c>PROXY_ALLOW_CIDRS</c>: the peers that may connect, as a comma-separated list of CIDR ranges
/// (<c>192.168.1.0/24</c>, <c>fd00::/8</c>) or bare addresses (one host: /32 or /128).
/// </summary>
/// <remarks>
/// An IPv4-mapped IPv6 address (<c>::ffff:192.168.1.5</c>, what a dual-mode <c>[::]</c> socket reports for an IPv4
/// peer) is the IPv4 address it carries, both in the list and at <see cref="Allows"/>: it matches IPv4 ranges
/// only, and <c>::/0</c> does not let IPv4 peers in. Host bits below the prefix are ignored, as
/// <see cref="IPNetwork"/> does (<c>192.168.1.7/24</c> is <c>192.168.1.0/24</c>).
/// </remarks>
public sealed class PeerAllowList
{
    private readonly IPNetwork[] _v4;
    private readonly IPNetwork[] _v6;

    private PeerAllowList(IPNetwork[] v4, IPNetwork[] v6)
    {
        _v4 = v4;
        _v6 = v6;
    }

    /// <summary>
    /// Parses the list. Whitespace around an element is ignored, empty elements are skipped. Throws
    /// <see cref="FormatException"/> naming the first element that is not an address or range, or when the
    /// list has none.
    /// </summary>
    public static PeerAllowList Parse(string value)
    {
        var v4 = new List<IPNetwork>();
        var v6 = new List<IPNetwork>();
        foreach (var range in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var network = ParseRange(range);
            if (network.BaseAddress.AddressFamily == AddressFamily.InterNetwork)
            {
                v4.Add(network);
            }
            else if (network.BaseAddress.IsIPv4MappedToIPv6 && network.PrefixLength >= 96)
            {
                v4.Add(new IPNetwork(network.BaseAddress.MapToIPv4(), network.PrefixLength - 96));
            }
            else
            {
                v6.Add(network);
            }
        }

        return v4.Count + v6.Count > 0
            ? new PeerAllowList([.. v4], [.. v6])
            : throw new FormatException("lists no address or range (such as 192.168.1.0/24 or ::1/128)");
    }

    /// <summary>Whether <paramref name="address"/> is in one of the ranges; allocates nothing.</summary>
    public bool Allows(IPAddress address)
    {
        // An IPv4 IPNetwork matches the IPv4-mapped form of its addresses itself, without MapToIPv4's allocation.
        // A mapped address is never put to an IPv6 range: that is the rule above, and the .NET 10 IPNetwork
        // answers such a question wrongly (it compares the mapped address as IPv4 against the IPv6 prefix).
        var ranges = address.AddressFamily == AddressFamily.InterNetwork || address.IsIPv4MappedToIPv6 ? _v4 : _v6;
        foreach (var range in ranges)
        {
            if (range.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The ranges as they are matched, IPv4 first, for the start-up log.</summary>
    public override string ToString() => string.Join(",", [.. _v4, .. _v6]);

    private static IPNetwork ParseRange(string range)
    {
        var slash = range.IndexOf('/');
        var address = slash < 0 ? range : range[..slash];

        // IPAddress.Parse also takes inet_aton's forms ("10" is 0.0.0.10, "010.0.0.1" is 8.0.0.1); a list that
        // decides who may connect accepts only what it cannot misread. A zone (%eth0) names no range.
        var valid = address.Contains(':') ? !address.Contains('%') : IsDottedQuad(address);
        if (valid)
        {
            if (slash < 0 && IPAddress.TryParse(address, out var host))
            {
                return new IPNetwork(host, host.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            }

            if (slash >= 0 && IPNetwork.TryParse(range, out var network))
            {
                return network;
            }
        }

        throw new FormatException($"'{range}' is not an IPv4 or IPv6 address or CIDR range (such as 192.168.1.0/24 or ::1/128)");
    }

    /// <summary>Four decimal octets of 0 to 255, without leading zeros.</summary>
    private static bool IsDottedQuad(ReadOnlySpan<char> text)
    {
        var octets = 0;
        foreach (var part in text.Split('.'))
        {
            var octet = text[part];
            if (++octets > 4 || octet.Length is 0 or > 3 || (octet.Length > 1 && octet[0] == '0')
                || !ushort.TryParse(octet, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
                || number > 255)
            {
                return false;
            }
        }

        return octets == 4;
    }
}
