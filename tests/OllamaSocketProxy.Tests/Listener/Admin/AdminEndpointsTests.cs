using System.Text;
using OllamaSocketProxy.Listener.Admin;

namespace OllamaSocketProxy.Tests.Listener.Admin;

/// <summary>Which endpoint a request-target names, and its query.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class AdminEndpointsTests
{
    [TestCase("/healthz", "Health", "")]
    [TestCase("/readyz?probe=1", "Ready", "probe=1")]
    [TestCase("/metrics", "Metrics", "")]
    [TestCase("/usage?since=7d&by=hour", "Usage", "since=7d&by=hour")]
    [TestCase("/usage?", "Usage", "")]
    [TestCase("/status", "Status", "")]
    [TestCase("/", "Dashboard", "")]
    [TestCase("/?tab=keys", "Dashboard", "tab=keys")]
    [TestCase("/index.html", "Dashboard", "")]
    [TestCase("http://admin.test:11435/status", "Status", "")]
    [TestCase("http://admin.test", "Dashboard", "")]
    [TestCase("http://admin.test?x=1", "Dashboard", "x=1")]
    [TestCase("/Healthz", "None", "")]
    [TestCase("/healthz/", "None", "")]
    [TestCase("//healthz", "None", "")]
    [TestCase("/%68ealthz", "None", "")]
    [TestCase("*", "None", "")]
    [TestCase("admin.test:11435", "None", "")]
    public void Target_NamesItsEndpoint(string target, string expected, string expectedQuery)
    {
        var endpoint = AdminEndpoints.Find(Encoding.ASCII.GetBytes(target), out var query);

        Assert.That((endpoint.ToString(), Encoding.ASCII.GetString(query)), Is.EqualTo((expected, expectedQuery)));
    }
}
