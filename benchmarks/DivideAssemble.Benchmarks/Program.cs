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

if (args.Length > 1 && args[0] == "--head-curve")
{
    // dotnet run -c Release --project benchmarks/DivideAssemble.Benchmarks -- --head-curve <image folder> [steps=400] [width=16] [depth=3] [size=128] [lr=0.001] [min-opacity=0.2] [model=m.daad]
    var settings = args[2..].Select(a => a.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : throw new ArgumentException($"--head-curve settings are key=value; got '{kv[0]}'"));
    HeadCurveMode.Run(Console.Out, args[1], settings);
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
