using System.Buffers;
using System.Text;
using OllamaSocketProxy.Listener.Gateway;
using OllamaSocketProxy.Tests.Infrastructure;

namespace OllamaSocketProxy.Tests.Listener.Gateway;

/// <summary>
/// The hand-walked reading of a request's model gives <see cref="System.Text.Json.Utf8JsonReader"/>'s answer wherever
/// it gives one, and gives one for the plain bodies that clients send.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class RequestModelScannerTests
{
    /// <summary>Bodies as clients send them: each is answered without the reader.</summary>
    private static readonly string[] PlainBodies =
    [
        """{"model":"gpt-oss:120b","messages":[{"role":"user","content":"Why is the sky blue?"}],"stream":false}""",
        """{"model":"gemma3:4b","prompt":"Line one\nline \"two\"\t\u00e9\ud83d\ude00","options":{"temperature":0.7,"top_p":1e-3,"seed":-42,"stop":[]},"keep_alive":"5m","raw":true,"images":null}""",
        """{ "messages" : [ { "role" : "system" , "content" : "Be brief." } , { "role" : "user" , "content" : "Hi" } ] , "model" : "qwen3:8b" }""",
        "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"Gr\u00fc\u00dfe aus K\u00f6ln \u2014 \u65e5\u672c\"}]}",
        """{"model":"gpt-oss:20b","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"messages":[]}""",
        """{"Model":"deepseek-v3.1:671b","input":["a","b"],"dimensions":0,"truncate":false}""",
        """{"name":"gemma3"}""",
        """{}""",
        """{"prompt":"no model here","stream":true}""",
        """{"model":12.5e+3}""",
    ];

    private static IEnumerable<TestCaseData> Plain() =>
        from body in PlainBodies
        from field in new[] { ModelField.Model, ModelField.ModelOrName }
        select new TestCaseData(body, field).SetArgDisplayNames(body.Length > 40 ? body[..40] : body, field.ToString());

    [TestCaseSource(nameof(Plain))]
    public void PlainBody_AnsweredAsTheReaderAnswers(string body, ModelField field)
    {
        var bytes = Encoding.UTF8.GetBytes(body);

        var scanned = Scan(bytes, field);

        Assert.That(scanned, Is.EqualTo(Read(bytes, field)));
    }

    private static IEnumerable<TestCaseData> ReaderCases()
    {
        var cases = RequestModelTests.FoundBodies().Concat(RequestModelTests.NotFoundBodies())
            .Concat(RequestModelTests.InvalidBodies()).Concat(RequestModelTests.AmbiguousBodies());
        foreach (var c in cases)
        {
            var body = c.Args[0] switch { string text => Encoding.UTF8.GetBytes(text), byte[] raw => raw, _ => throw new InvalidOperationException(c.Name) };
            yield return new TestCaseData(body, ModelField.Model).SetArgDisplayNames(c.Name, nameof(ModelField.Model));
            yield return new TestCaseData(body, ModelField.ModelOrName).SetArgDisplayNames(c.Name, nameof(ModelField.ModelOrName));
        }
    }

    /// <summary>The reader's own cases (found, not found, malformed, named twice): answered the same, or left to it.</summary>
    [TestCaseSource(nameof(ReaderCases))]
    public void ReaderCase_AnsweredTheSameOrLeftToTheReader(byte[] body, ModelField field)
    {
        var scanned = Scan(body, field);

        Assert.That(scanned is null || scanned == Read(body, field), Is.True, $"scanner {scanned}, reader {Read(body, field)}");
    }

    /// <summary>
    /// Fifty thousand bodies made from plain ones by changing, dropping, inserting and repeating bytes (JSON's
    /// structural characters, digits, letters of the literals, escapes, controls, UTF-8 lead bytes): wherever the
    /// scanner answers, it answers as the reader does. Seeded, so a failure comes back the same.
    /// </summary>
    [Test]
    public void MutatedBodies_AnsweredAsTheReaderAnswersWhereverAnswered()
    {
        var alphabet = "{}[]:,\"\\ \t\n0123456789-+.eEtrufalsnbmodelNAMEMx/"u8.ToArray().Concat(new byte[] { 0x01, 0x1F, 0xC3, 0xA9, 0xFF, 0x80 }).ToArray();
        var random = new Random(20261206);
        var answered = 0;
        var disagreements = new List<string>();
        for (var n = 0; n < 50_000 && disagreements.Count < 5; n++)
        {
            var bytes = ByteMutations.Mutate(Encoding.UTF8.GetBytes(PlainBodies[random.Next(PlainBodies.Length)]), random, alphabet, maxRepeat: 11);
            var field = random.Next(2) == 0 ? ModelField.Model : ModelField.ModelOrName;

            // Half with room for a few bytes only: a name longer than its buffer is Invalid on both paths.
            var room = random.Next(2) == 0 ? 8 : RequestModel.MaxNameLength;
            if (Scan(bytes, field, room) is { } scanned)
            {
                answered++;
                if (scanned != Read(bytes, field, room))
                {
                    disagreements.Add($"{Convert.ToHexString(bytes)} ({field}, {room}): scanner {scanned}, reader {Read(bytes, field, room)}");
                }
            }
        }

        // Most edits break the JSON, and those are left to the reader; the rest must be a real share to mean anything.
        Assert.That((disagreements, answered > 5_000), Is.EqualTo((new List<string>(), true)), $"answered {answered}");
    }

    private static (RequestModelStatus Status, string? Name)? Scan(byte[] body, ModelField field, int room = RequestModel.MaxNameLength)
    {
        var name = new byte[room];
        return RequestModelScanner.TryFind(body, field, name, out var status, out var length)
            ? (status, status == RequestModelStatus.Found ? Convert.ToHexString(name, 0, length) : null)
            : null;
    }

    private static (RequestModelStatus Status, string? Name) Read(byte[] body, ModelField field, int room = RequestModel.MaxNameLength)
    {
        var name = new byte[room];
        var status = RequestModel.FindWithReader(new ReadOnlySequence<byte>(body), field, name, out var length);
        return (status, status == RequestModelStatus.Found ? Convert.ToHexString(name, 0, length) : null);
    }
}
