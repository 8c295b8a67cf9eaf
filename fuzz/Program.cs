using SharpFuzz;

namespace OllamaSocketProxy.Fuzz;

/// <summary>
/// <code>
/// Http1.Fuzz TARGET              under afl-fuzz: SharpFuzz's in-process loop (a finding is an unhandled exception)
/// Http1.Fuzz TARGET replay PATH… runs files (or every file of directories) once each; prints each exception and stack
/// Http1.Fuzz TARGET show PATH…   the same, and prints what the parser made of every input
/// Http1.Fuzz TARGET minimize IN OUT  shrinks a crashing input while it still fails with the same exception and frame
/// </code>
/// TARGET is request-head, chunked or response-head.
/// </summary>
internal static class Program
{
    private static readonly Dictionary<string, FuzzTarget> Targets = new(StringComparer.Ordinal)
    {
        ["request-head"] = RequestHeadTarget.Run,
        ["chunked"] = ChunkedTarget.Run,
        ["response-head"] = ResponseHeadTarget.Run,
    };

    private static int Main(string[] args)
    {
        if (args.Length == 0 || !Targets.TryGetValue(args[0], out var target))
        {
            Console.Error.WriteLine($"usage: Http1.Fuzz {{{string.Join('|', Targets.Keys)}}} [replay PATH... | show PATH... | minimize IN OUT]");
            return 2;
        }

        switch (args.Length > 1 ? args[1] : "afl")
        {
            case "afl":
                var buffer = new MemoryStream();
                Fuzzer.Run(stream =>
                {
                    buffer.SetLength(0);
                    stream.CopyTo(buffer);
                    _ = target(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
                });
                return 0;
            case "replay":
                return Triage.Replay(target, args[2..], verbose: false);
            case "show":
                return Triage.Replay(target, args[2..], verbose: true);
            case "minimize" when args.Length == 4:
                return Triage.Minimize(target, args[2], args[3]);
            default:
                Console.Error.WriteLine($"unknown mode {args[1]}");
                return 2;
        }
    }
}

/// <summary>Runs one input; returns what the parser made of it (for replay), throws on a finding.</summary>
internal delegate object FuzzTarget(ReadOnlySpan<byte> data);
