using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(OllamaSocketProxy.Micro.RequestHeadBenchmarks).Assembly).Run(args);
