using System.Text;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Http1;
using static OllamaSocketProxy.Tests.Infrastructure.BufferShapes;

using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>A body that names a second model after the bytes the model was read from is stopped, wherever it is cut.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestModelGuardTests
{
    /// <summary>Feeds the body piece by piece, as the relay would; the verdict is the first false, or true.</summary>
    private static bool Watch(byte[] body, BufferShape shape)
    {
        var guard = default(RequestModelGuard);
        foreach (var piece in shape.Build(body))
        {
            if (!guard.Observe(piece.Span))
            {
                return false;
            }
        }

        return true;
    }

    private static string Long(string tail) => "{\"model\":\"ok\",\"prompt\":\"" + new string('x', 70_000) + "\"" + tail;

    private static IEnumerable<TestCaseData> Passing() => Cross(
        Case("one model", """{"model":"ok","prompt":"hi"}"""),
        Case("one model in a long body", Long("}")),
        Case("nested models in a long body", Long(""","messages":[{"model":"a"},{"x":{"model":"b"}}],"options":{"model":"c"}}""")),
        Case("model text in strings", Long(""","p":"\"model\":\"evil\"","q":"\\","r":"\\\"model\\\""}""")),
        Case("names that only start like model", Long(""","models":1,"model_x":2,"mode":3,"\u006dodels":4}""")),
        Case("a name holding an escaped quote", """{"a\"model":1,"model":"ok","b\\":{"model":2}}"""),
        Case("a long name", Long(",\"" + new string('m', 5000) + "\":1}")),
        Case("a second object after the first", """{"model":"ok"}{"model":"evil"}"""),
        Case("a top-level array", """[{"model":"a"},{"model":"b"}]"""),
        Case("no model at all", """{"prompt":"x"}"""));

    [TestCaseSource(nameof(Passing))]
    public void OneTopLevelModel_Passes(string body, BufferShape shape)
    {
        Assert.That(Watch(Encoding.UTF8.GetBytes(body), shape), Is.True);
    }

    private static IEnumerable<TestCaseData> Stopped() => Cross(
        Case("second model past 64 KiB", Long(""","model":"evil"}""")),
        Case("in upper case", Long(""","MODEL":"evil"}""")),
        Case("escaped", Long(""","mod\u0065l":"evil"}""")),
        Case("fully escaped", Long(""","\u004D\u004F\u0044\u0045\u004C":"evil"}""")),
        Case("with underscores", Long(""","_mo_del_":"evil"}""")),
        Case("with a long run of dashes", Long(",\"mod" + new string('-', 5000) + "el\":\"evil\"}")),
        Case("after nested values", Long(""","messages":[{"content":"}]{["}],"model":"evil"}""")),
        Case("null then a string", """{"model":null,"model":"evil"}"""),
        Case("short body", """{"model":"ok","model":"evil"}"""));

    [TestCaseSource(nameof(Stopped))]
    public void SecondTopLevelModel_Stopped(string body, BufferShape shape)
    {
        Assert.That(Watch(Encoding.UTF8.GetBytes(body), shape), Is.False);
    }

    [Test]
    public void SecondModel_StoppedAtThePieceThatNamesIt()
    {
        var head = Encoding.UTF8.GetBytes(Long(","));
        var tail = Encoding.UTF8.GetBytes("""   "model":"evil","more":1}""");
        var guard = default(RequestModelGuard);

        var first = guard.Observe(head);
        var second = guard.Observe(tail.AsSpan(0, 10));
        var third = guard.Observe(tail.AsSpan(10));

        Assert.That((first, second, third), Is.EqualTo((true, false, false)));
    }

    private static IEnumerable<TestCaseData> FinderCases() =>
        from c in RequestModelTests.FoundBodies().Concat(RequestModelTests.NotFoundBodies()).Concat(RequestModelTests.AmbiguousBodies())
        from shape in new[] { OneSegment, OneBytePerSegment, RandomSplits(7) }
        select new TestCaseData(Encoding.UTF8.GetBytes((string)c.Args[0]!), shape).SetArgDisplayNames(c.Name, shape.Name);

    /// <summary>Two readers of one body must agree: the guard stops exactly the bodies the finder calls ambiguous.</summary>
    [TestCaseSource(nameof(FinderCases))]
    public void ValidBody_StoppedExactlyWhenTheFinderSeesTwoModels(byte[] body, BufferShape shape)
    {
        var finder = RequestModelTests.Find(body, OneSegment).Status;

        Assert.That(Watch(body, shape), Is.EqualTo(finder != RequestModelStatus.Ambiguous), Latin1.Escape(body));
    }
}
