using System.Text;
using OllamaSocketProxy.Listener.Admin;
using OllamaSocketProxy.Listener.Usage;

namespace OllamaSocketProxy.Tests.Listener.Admin;

/// <summary><c>/usage</c>'s parameters, read with the <c>usage</c> command's words.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class AdminUsageQueryTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 5, 20, 0, TimeSpan.Zero);

    [TestCase("")]
    [TestCase("&")]
    public void NoParameters_AreTheLastSevenDaysByClientAndModel(string query)
    {
        Assert.That(Parse(query), Is.EqualTo(new UsageQuery(Now.AddDays(-7), null, UsageGrouping.Client | UsageGrouping.Model)));
    }

    [Test]
    public void SinceAll_IsEveryKeptHour()
    {
        Assert.That(Parse("since=all").Since, Is.Null);
    }

    [TestCase("since=36h&until=2026-12-06", "2026-12-04T17:20:00Z", "2026-12-06T00:00:00Z", UsageGrouping.Client | UsageGrouping.Model)]
    [TestCase("by=hour,client&since=2w", "2026-11-22T05:20:00Z", null, UsageGrouping.Hour | UsageGrouping.Client)]
    [TestCase("by=hour%2Cmodel", "2026-11-29T05:20:00Z", null, UsageGrouping.Hour | UsageGrouping.Model)]
    [TestCase("by=none&since=2026-12-06T01:00", "2026-12-06T01:00:00Z", null, UsageGrouping.None)]
    [TestCase("by=", "2026-11-29T05:20:00Z", null, UsageGrouping.None)]
    [TestCase("by", "2026-11-29T05:20:00Z", null, UsageGrouping.None)]
    [TestCase("since=2026-12-06T03:00%2B02:00&by=key+,+route", "2026-12-06T01:00:00Z", null, UsageGrouping.Key | UsageGrouping.Route)]
    [TestCase("since=+7d+", "2026-11-29T05:20:00Z", null, UsageGrouping.Client | UsageGrouping.Model)]
    public void Parameters_AreReadAsTheCommandReadsItsOptions(string query, string since, string? until, UsageGrouping by)
    {
        Assert.That(Parse(query), Is.EqualTo(new UsageQuery(Time(since), until is null ? null : Time(until), by)));
    }

    [TestCase("since=yesterday", "since takes an age (36h, 7d, 2w) or a UTC date or time (2025-06-01, 2025-06-01T13:00), or all")]
    [TestCase("since=", "since takes an age (36h, 7d, 2w) or a UTC date or time (2025-06-01, 2025-06-01T13:00), or all")]
    [TestCase("until=all", "until takes an age (36h, 7d, 2w) or a UTC date or time (2025-06-01, 2025-06-01T13:00)")]
    [TestCase("by=client,colour", "by takes hour, client, model, key, route and status, separated by commas, or none")]
    [TestCase("since=1d&until=2d", "until must be later than since")]
    [TestCase("since=1d&since=2d", "since is given twice")]
    [TestCase("sinse=7d", "unknown parameter: /usage takes since, until and by")]
    [TestCase("%zz=1", "unknown parameter: /usage takes since, until and by")]
    public void WrongParameters_AreRefusedWithAFixedText(string query, string expected)
    {
        var parsed = AdminUsageQuery.TryParse(Encoding.ASCII.GetBytes(query), Now, out _, out var error);

        Assert.That((parsed, error), Is.EqualTo((false, expected)));
    }

    private static UsageQuery Parse(string query)
    {
        Assert.That(AdminUsageQuery.TryParse(Encoding.ASCII.GetBytes(query), Now, out var parsed, out var error), Is.True, error);
        return parsed;
    }

    private static DateTimeOffset Time(string text) => DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
}
