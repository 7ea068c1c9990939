using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace DivideAssemble.Benchmarks;

/// <summary>
/// Short in-process jobs (2 warm-ups, 7 iterations) so the default run of every case finishes within
/// the hour on 2 cores. In-process: BenchmarkDotNet's generated projects would not carry the native
/// libtorch reference and loading fix that this project's build adds.
/// </summary>
public sealed class HotPathConfig : ManualConfig
{
    public HotPathConfig()
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(7).WithInvocationCount(1).WithUnrollFactor(1).WithToolchain(InProcessEmitToolchain.Instance));
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(BaselineRatioColumn.RatioMean);
        SummaryStyle = SummaryStyle.Default.WithRatioStyle(RatioStyle.Value);
        AddFilter(new BenchmarkDotNet.Filters.SimpleFilter(b =>
        {
            int ratio = (int)b.Parameters["Ratio"];
            int items = (int)b.Parameters["Items"];
            return items == 500 || ratio == 8;
        }));
        WithOptions(ConfigOptions.JoinSummary);
    }
}

/// <summary>Short jobs with the memory diagnoser for the end-to-end cases.</summary>
public sealed class PipelineConfig : ManualConfig
{
    public PipelineConfig()
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5).WithInvocationCount(1).WithUnrollFactor(1).WithToolchain(InProcessEmitToolchain.Instance));
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}
