using BenchmarkDotNet.Running;
using DivideAssemble.Benchmarks;

// dotnet run -c Release --project benchmarks/DivideAssemble.Benchmarks -- --quick
// dotnet run -c Release --project benchmarks/DivideAssemble.Benchmarks -- --filter '*'
if (args.Contains("--quick"))
{
    QuickMode.Run(Console.Out);
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(MemoryBenchmarks).Assembly).Run(args);
return 0;
