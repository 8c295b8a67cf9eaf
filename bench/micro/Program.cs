using BenchmarkDotNet.Running;
using OllamaSocketProxy.Micro;

if (args is ["--check"])
{
    // One round of the round-trip benchmark outside BenchmarkDotNet, to see it work (or where it hangs).
    var roundTrip = new ProxyRoundTripBenchmarks();
    await roundTrip.SetupAsync();
    Console.WriteLine($"round trip: {await roundTrip.KeepAliveRequest()} bytes");
    await roundTrip.CleanupAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(RequestHeadBenchmarks).Assembly).Run(args);
