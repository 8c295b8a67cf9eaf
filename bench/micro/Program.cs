using BenchmarkDotNet.Running;
using OllamaSocketProxy.Listener;
using OllamaSocketProxy.Micro;

// As the proxy's own Program.cs does, before the first socket; the benchmark processes inherit it.
ProxyServer.PreferInlineSocketCompletions();

if (args is ["--check"])
{
    // One round of the round-trip benchmark outside BenchmarkDotNet, to see it work (or where it hangs).
    foreach (var usage in new[] { "off", "on" })
    {
        var roundTrip = new ProxyRoundTripBenchmarks { Usage = usage };
        await roundTrip.SetupAsync();
        Console.WriteLine($"round trip, usage {usage}: {await roundTrip.KeepAliveRequest()} bytes");
        await roundTrip.CleanupAsync();
    }

    return;
}

BenchmarkSwitcher.FromAssembly(typeof(RequestHeadBenchmarks).Assembly).Run(args);
