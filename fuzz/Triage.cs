using System.Diagnostics;

namespace OllamaSocketProxy.Fuzz;

/// <summary>Re-running and shrinking inputs outside afl-fuzz: fast, in one process, with the whole stack trace.</summary>
internal static class Triage
{
    /// <summary>A replayed input that takes longer than this is reported as a hang.</summary>
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(1);

    public static int Replay(FuzzTarget target, string[] paths, bool verbose)
    {
        var files = paths.SelectMany(path => Directory.Exists(path)
            ? Directory.EnumerateFiles(path).Where(file => !Path.GetFileName(file).StartsWith('.') && !file.EndsWith("README.txt", StringComparison.Ordinal))
            : [path]).Order(StringComparer.Ordinal).ToList();
        var failed = 0;
        foreach (var file in files)
        {
            var data = File.ReadAllBytes(file);
            var clock = Stopwatch.StartNew();
            var failure = Failure(target, data, out var result);
            if (failure is not null)
            {
                failed++;
                Console.WriteLine($"FAIL {file} ({data.Length} bytes): {Convert.ToHexString(data)}");
                Console.WriteLine(failure);
            }
            else if (clock.Elapsed > Slow)
            {
                failed++;
                Console.WriteLine($"SLOW {file}: {clock.Elapsed.TotalMilliseconds:F0} ms");
            }
            else if (verbose)
            {
                Console.WriteLine($"ok   {file}: {result}");
            }
        }

        Console.WriteLine($"replayed {files.Count} inputs, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>
    /// Greedy delta debugging: removes ever smaller chunks, then simplifies bytes, keeping each change that still
    /// fails with the same exception type at the same throwing frame.
    /// </summary>
    public static int Minimize(FuzzTarget target, string inputPath, string outputPath)
    {
        var data = File.ReadAllBytes(inputPath).ToList();
        var signature = Signature(Failure(target, [.. data]));
        if (signature is null)
        {
            Console.Error.WriteLine($"{inputPath} does not fail");
            return 1;
        }

        for (var chunk = Math.Max(1, data.Count / 2); chunk >= 1; chunk /= 2)
        {
            for (var start = 0; start + chunk <= data.Count;)
            {
                var candidate = new List<byte>(data);
                candidate.RemoveRange(start, chunk);
                if (Signature(Failure(target, [.. candidate])) == signature)
                {
                    data = candidate;
                }
                else
                {
                    start += chunk;
                }
            }
        }

        for (var i = 0; i < data.Count; i++)
        {
            foreach (var simpler in "a0 "u8.ToArray())
            {
                var candidate = new List<byte>(data) { [i] = simpler };
                if (data[i] != simpler && Signature(Failure(target, [.. candidate])) == signature)
                {
                    data = candidate;
                    break;
                }
            }
        }

        File.WriteAllBytes(outputPath, [.. data]);
        Console.WriteLine($"minimized to {data.Count} bytes: {Convert.ToHexString([.. data])}");
        Console.WriteLine(Failure(target, [.. data]));
        return 0;
    }

    private static Exception? Failure(FuzzTarget target, byte[] data) => Failure(target, data, out _);

    private static Exception? Failure(FuzzTarget target, byte[] data, out object? result)
    {
        result = null;
        try
        {
            result = target(data);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static string? Signature(Exception? failure) => failure is null
        ? null
        : $"{failure.GetType().FullName} at {new StackTrace(failure).GetFrames().FirstOrDefault(frame => frame.GetMethod()?.DeclaringType?.Namespace?.StartsWith("OllamaSocketProxy", StringComparison.Ordinal) == true)?.GetMethod()}"
          + (failure is InvariantViolation ? ": " + new string(failure.Message.Split(':')[0].Where(c => !char.IsAsciiDigit(c)).ToArray()) : "");
}
