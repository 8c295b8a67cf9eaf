using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>Keeps every log line the proxy writes, so tests can await and read them and check that no secret is logged.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> lines = new();
    private TaskCompletionSource lineWritten = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<string> Lines => [.. lines];

    public ILogger CreateLogger(string categoryName) => new RecordingLogger(categoryName, Add);

    /// <summary>Waits for the first line that satisfies <paramref name="predicate"/> (a log line may follow the response).</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate)
    {
        using var timeout = EventTimeout.NewSource();
        while (true)
        {
            var signal = Volatile.Read(ref lineWritten).Task;
            if (lines.FirstOrDefault(predicate) is { } line)
            {
                return line;
            }

            try
            {
                await signal.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"No such log line within {EventTimeout.Limit.TotalSeconds} s; the proxy logged:\n{string.Join("\n", lines)}");
            }
        }
    }

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        lines.Enqueue(line);
        Interlocked.Exchange(ref lineWritten, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
