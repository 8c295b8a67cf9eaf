using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace OllamaSocketProxy.Tests.Infrastructure;

/// <summary>
/// The real executable (<c>dotnet OllamaSocketProxy.dll</c>) started with a clean environment in its own working
/// folder, its stdout and stderr collected line by line. Killed on dispose if still running.
/// </summary>
public sealed partial class ProxyProcess : IAsyncDisposable
{
    /// <summary>Starting a whole .NET host is slower than an in-process event; this is still only a failure guard.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private readonly System.Diagnostics.Process process;
    private readonly ConcurrentQueue<string> lines = new();
    private TaskCompletionSource lineArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ProxyProcess(System.Diagnostics.Process process) => this.process = process;

    /// <summary>Every line written to stdout or stderr so far.</summary>
    public IReadOnlyList<string> Lines => [.. lines];

    /// <param name="arguments">Command-line arguments, such as a subcommand (none starts the proxy).</param>
    public static ProxyProcess Start(IReadOnlyDictionary<string, string> variables, string workingDirectory, IReadOnlyList<string>? arguments = null)
    {
        var startInfo = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OllamaSocketProxy.dll"));
        foreach (var argument in arguments ?? [])
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment.Clear();
        foreach (var name in new[] { "PATH", "HOME", "DOTNET_ROOT" })
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                startInfo.Environment[name] = value;
            }
        }

        // The admin listener's default port is fixed, and tests run in parallel: off unless a test names an address.
        startInfo.Environment["PROXY_ADMIN_LISTEN"] = "off";
        foreach (var (name, value) in variables)
        {
            startInfo.Environment[name] = value;
        }

        var proxy = new ProxyProcess(new System.Diagnostics.Process { StartInfo = startInfo });
        proxy.process.OutputDataReceived += (_, e) => proxy.OnLine(e.Data);
        proxy.process.ErrorDataReceived += (_, e) => proxy.OnLine(e.Data);
        proxy.process.Start();
        proxy.process.BeginOutputReadLine();
        proxy.process.BeginErrorReadLine();
        return proxy;
    }

    /// <summary>Waits for the first line that satisfies <paramref name="predicate"/>.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate)
    {
        using var timeout = new CancellationTokenSource(Limit);
        while (true)
        {
            var signal = Volatile.Read(ref lineArrived).Task;
            if (lines.FirstOrDefault(predicate) is { } line)
            {
                return line;
            }

            if (process.HasExited)
            {
                await process.WaitForExitAsync(timeout.Token);
                return lines.FirstOrDefault(predicate)
                    ?? throw new InvalidOperationException($"The proxy exited with {process.ExitCode} without the expected line:\n{string.Join("\n", lines)}");
            }

            await signal.WaitAsync(timeout.Token);
        }
    }

    /// <summary>The address from the start-up line (<c>Now listening on http://127.0.0.1:port</c>).</summary>
    public async Task<IPEndPoint> WaitForListeningEndPointAsync()
    {
        var line = await WaitForLineAsync(text => text.Contains("listening on", StringComparison.OrdinalIgnoreCase));
        var match = EndPointPattern().Match(line);
        return match.Success ? IPEndPoint.Parse(match.Value) : throw new InvalidDataException($"No IPv4 address:port in '{line}'.");
    }

    /// <summary>Waits for the process to end (its output read to the end) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(Limit);
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }

    /// <summary>Sends SIGTERM, as <c>docker stop</c> does.</summary>
    public Task TerminateAsync() => SignalAsync("-TERM");

    /// <summary>Sends SIGHUP, as <c>kill -HUP</c> and <c>docker-compose kill -s SIGHUP</c> do: re-read the clients file.</summary>
    public Task HangUpAsync() => SignalAsync("-HUP");

    private async Task SignalAsync(string signal)
    {
        using var kill = System.Diagnostics.Process.Start("kill", [signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            ?? throw new InvalidOperationException("kill could not be started.");
        using var timeout = new CancellationTokenSource(Limit);
        await kill.WaitForExitAsync(timeout.Token);
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill {signal} exited with {kill.ExitCode}.");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill();
            using var timeout = new CancellationTokenSource(Limit);
            await process.WaitForExitAsync(timeout.Token);
        }

        process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lines.Enqueue(line);
        Interlocked.Exchange(ref lineArrived, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    [GeneratedRegex(@"\d{1,3}(\.\d{1,3}){3}:\d{1,5}")]
    private static partial Regex EndPointPattern();

    private static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }

        return Environment.ProcessPath is { } current && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
