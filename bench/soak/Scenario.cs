using System.Text;

namespace OllamaSocketProxy.Soak;

/// <summary>
/// What one request of the soak does. The client picks it and names it in the query string
/// (<c>?soak=NAME&amp;n=…&amp;size=…&amp;delay=…</c>), which the proxy forwards byte for byte; the upstream acts on it.
/// So both ends know what should happen, and the client can tell a correct answer from a wrong one.
/// </summary>
internal enum Scenario
{
    /// <summary>A JSON body with Content-Length (<c>/api/show</c>, <c>/api/tags</c>).</summary>
    Json,

    /// <summary>A fast NDJSON stream, chunked, one line per chunk (<c>/api/chat</c>).</summary>
    Ndjson,

    /// <summary>An NDJSON stream whose chunks come 20-100 ms apart (a model generating).</summary>
    SlowStream,

    /// <summary>A small JSON upload with Content-Length (the proxy holds it and may retry); the upstream echoes its hash.</summary>
    UploadSmall,

    /// <summary>A chunked upload of up to 96 KiB (streamed through); the upstream echoes its hash.</summary>
    UploadChunked,

    /// <summary>A Content-Length upload of 96-256 KiB (above what the proxy holds, so streamed); echoed.</summary>
    UploadLarge,

    /// <summary>The upstream resets the connection before a response head: 502.</summary>
    ResetBeforeHead,

    /// <summary>The upstream closes halfway through a Content-Length body: the client must see a truncation.</summary>
    CloseMidBody,

    /// <summary>The upstream closes halfway through a chunked stream: the client must see a truncation.</summary>
    CloseMidStream,

    /// <summary>The upstream never answers: 504 after PROXY_UPSTREAM_RESPONSE_TIMEOUT.</summary>
    Stall,

    /// <summary>The client resets its connection halfway through a large upload.</summary>
    ClientAbortUpload,

    /// <summary>The client resets its connection after the first chunk of a slow stream.</summary>
    ClientAbortStream,

    /// <summary>A wrong token: 401, nothing upstream.</summary>
    Unauthorized,
}

/// <summary>What the client saw; one column of the report.</summary>
internal enum Outcome
{
    /// <summary>2xx with exactly the expected body.</summary>
    Ok,
    Status401,
    Status502,
    Status504,
    OtherStatus,

    /// <summary>A response head, then the connection ended before the body's framing did.</summary>
    Truncated,

    /// <summary>The client reset the connection on purpose.</summary>
    AbortedByClient,

    /// <summary>The connection ended before any byte of a response (not on purpose).</summary>
    NoResponse,

    /// <summary>2xx, but the body is not the one the upstream sent: corruption, the worst outcome.</summary>
    WrongBody,

    /// <summary>No answer within the client's deadline: a hang.</summary>
    Hang,

    /// <summary>The proxy refused or dropped the TCP connection.</summary>
    ConnectFailed,
}

internal static class Scenarios
{
    /// <summary>Relative weights (percent) of the scenarios in the mix.</summary>
    public static readonly (Scenario Scenario, int Weight)[] Mix =
    [
        (Scenario.Json, 24),
        (Scenario.Ndjson, 24),
        (Scenario.SlowStream, 5),
        (Scenario.UploadSmall, 10),
        (Scenario.UploadChunked, 7),
        (Scenario.UploadLarge, 4),
        (Scenario.ResetBeforeHead, 5),
        (Scenario.CloseMidBody, 4),
        (Scenario.CloseMidStream, 4),
        (Scenario.Stall, 1),
        (Scenario.ClientAbortUpload, 5),
        (Scenario.ClientAbortStream, 6),
        (Scenario.Unauthorized, 1),
    ];

    /// <summary>The mix, or only the named scenarios of it (<c>json,ndjson</c>).</summary>
    public static (Scenario Scenario, int Weight)[] Only(string? names) => names is null
        ? Mix
        : [.. Mix.Where(m => names.Split(',').Contains(Name(m.Scenario), StringComparer.OrdinalIgnoreCase))];

    public static Scenario Pick(Random random, (Scenario Scenario, int Weight)[] mix)
    {
        var roll = random.Next(mix.Sum(m => m.Weight));
        foreach (var (scenario, weight) in mix)
        {
            if ((roll -= weight) < 0)
            {
                return scenario;
            }
        }

        return Scenario.Json;
    }

    /// <summary>What the proxy promises the client for each scenario (docs/BEHAVIOUR.md#errors).</summary>
    public static Outcome Expected(Scenario scenario) => scenario switch
    {
        Scenario.ResetBeforeHead => Outcome.Status502,
        Scenario.CloseMidBody or Scenario.CloseMidStream => Outcome.Truncated,
        Scenario.Stall => Outcome.Status504,
        Scenario.ClientAbortUpload or Scenario.ClientAbortStream => Outcome.AbortedByClient,
        Scenario.Unauthorized => Outcome.Status401,
        _ => Outcome.Ok,
    };

    /// <summary>The scenario's name in queries and reports: <c>reset-before-head</c>.</summary>
    public static string Name(Scenario scenario) =>
        string.Concat(scenario.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? $"-{char.ToLowerInvariant(c)}" : $"{char.ToLowerInvariant(c)}"));

    public static Scenario Parse(string name) =>
        Enum.TryParse<Scenario>(name.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var scenario) ? scenario : Scenario.Json;
}

/// <summary>The bytes both ends generate the same way, so the client can check what the upstream sent.</summary>
internal static class Payload
{
    /// <summary>A JSON object of exactly <paramref name="size"/> bytes (at least 40).</summary>
    public static byte[] Json(int size)
    {
        var head = "{\"model\":\"soak\",\"response\":\""u8;
        var tail = "\"}\n"u8;
        var bytes = new byte[Math.Max(size, head.Length + tail.Length)];
        head.CopyTo(bytes);
        Fill(bytes.AsSpan(head.Length, bytes.Length - head.Length - tail.Length), size);
        tail.CopyTo(bytes.AsSpan(bytes.Length - tail.Length));
        return bytes;
    }

    /// <summary>Line <paramref name="index"/> of <paramref name="count"/> of an NDJSON stream, exactly <paramref name="size"/> bytes (at least 48).</summary>
    public static byte[] Line(int index, int count, int size)
    {
        var head = Encoding.ASCII.GetBytes($"{{\"i\":{index},\"done\":{(index == count - 1 ? "true" : "false")},\"pad\":\"");
        var tail = "\"}\n"u8;
        var bytes = new byte[Math.Max(size, head.Length + tail.Length)];
        head.CopyTo(bytes, 0);
        Fill(bytes.AsSpan(head.Length, bytes.Length - head.Length - tail.Length), index);
        tail.CopyTo(bytes.AsSpan(bytes.Length - tail.Length));
        return bytes;
    }

    /// <summary>The hash of a whole NDJSON stream, as the client's chunked reader computes it over the data.</summary>
    public static uint StreamHash(int count, int size)
    {
        var hash = Wire.FnvSeed;
        for (var i = 0; i < count; i++)
        {
            hash = Wire.Fnv(hash, Line(i, count, size));
        }

        return hash;
    }

    /// <summary>Printable filler that differs by <paramref name="seed"/>: an upload or a pad that is not all one byte.</summary>
    public static void Fill(Span<byte> span, int seed)
    {
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = (byte)('a' + ((i + seed) % 26));
        }
    }
}
