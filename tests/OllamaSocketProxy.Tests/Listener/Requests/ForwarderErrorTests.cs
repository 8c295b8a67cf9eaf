using OllamaSocketProxy.Listener;

namespace OllamaSocketProxy.Tests.Listener.Requests;

/// <summary>
/// <see cref="ForwarderErrors"/>: the one table from a forwarding failure (phase and party) to the status the client
/// gets while nothing has been sent, and the fixed text of its JSON error (docs/BEHAVIOUR.md#errors).
/// </summary>
public sealed class ForwarderErrorTests
{
    private static readonly object[] Table =
    [
        new object[] { "UpstreamUnreachable", 502 },
        new object[] { "UpstreamTls", 502 },
        new object[] { "UpstreamConnectTimeout", 502 },
        new object[] { "RequestUpstream", 502 },
        new object[] { "RequestBodyClient", 400 },
        new object[] { "ResponseHeadUpstream", 502 },
        new object[] { "ResponseHeadTimeout", 504 },
        new object[] { "ResponseInvalid", 502 },
        new object[] { "ResponseBodyUpstream", 502 },
        new object[] { "ResponseBodyClient", 502 },
        new object[] { "ShutdownTimeout", 503 },
    ];

    [TestCaseSource(nameof(Table))]
    public void Error_MapsToItsStatus(string error, int status)
    {
        Assert.That(ForwarderErrors.StatusCode(Enum.Parse<ForwarderError>(error)), Is.EqualTo(status));
    }

    [Test]
    public void Table_NamesEveryError()
    {
        Assert.That(Table.Select(row => ((object[])row)[0]), Is.EquivalentTo(Enum.GetNames<ForwarderError>()));
    }

    /// <summary>A user can tell the causes apart from the error alone (a typo in the URL from a certificate problem).</summary>
    [Test]
    public void EveryError_HasItsOwnText()
    {
        var texts = Enum.GetValues<ForwarderError>().Select(ForwarderErrors.Describe).ToList();

        Assert.That(texts, Is.Unique);
    }

    /// <summary>The texts go into JSON unescaped: printable ASCII without quote or backslash, and never empty.</summary>
    [Test]
    public void EveryText_IsPlainPrintableAscii()
    {
        foreach (var error in Enum.GetValues<ForwarderError>())
        {
            var text = ForwarderErrors.Describe(error);
            Assert.That(text, Is.Not.Empty.And.Match("^[ !#-\\[\\]-~]+$"), error.ToString());
        }
    }

    [TestCase("UpstreamUnreachable", "unreachable")]
    [TestCase("UpstreamTls", "TLS")]
    [TestCase("UpstreamConnectTimeout", "connect timed out")]
    [TestCase("ResponseHeadTimeout", "in time")]
    [TestCase("ResponseInvalid", "invalid")]
    [TestCase("ResponseHeadUpstream", "closed")]
    [TestCase("ShutdownTimeout", "shutting down")]
    public void Text_NamesTheCause(string error, string cause)
    {
        Assert.That(ForwarderErrors.Describe(Enum.Parse<ForwarderError>(error)), Does.Contain(cause));
    }
}
