using BenchmarkDotNet.Running;
using DivideAssemble.Benchmarks;

// dotnet run -c Release --project benchmarks/DivideAssemble.Benchmarks -- --quick
// dotnet run -c Release --project benchmarks/DivideAssemble.Benchmarks -- --filter '*'
if (args.Contains("--quick"))
{
    QuickMode.Run(Console.Out);
    return 0;
}

if (args.Contains("--profile"))
{
    // dotnet run -c Release --project benchmarks/DivideAssemble.Benchmarks -- --profile [repetitions]
    var counts = args.Where(a => int.TryParse(a, out _)).Select(int.Parse).ToArray();
    ProfileMode.Run(Console.Out, counts.Length > 0 ? counts[0] : 40);
    return 0;
}

if (args.Length > 0 && args[0] == "--memory-child")
{
    PipelineMode.MemoryChild(Console.Out, args[1..]);
    return 0;
}

if (args.Contains("--pipeline"))
{
    // dotnet run -c Release --project benchmarks/DivideAssemble.Benchmarks -- --pipeline [64 128 256]
    var sizes = args.Where(a => int.TryParse(a, out _)).Select(int.Parse).ToArray();
    PipelineMode.Run(Console.Out, sizes.Length > 0 ? sizes : new[] { 64, 128, 256 });
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(MemoryBenchmarks).Assembly).Run(args);
return 0;
