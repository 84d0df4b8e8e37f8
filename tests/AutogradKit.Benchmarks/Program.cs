using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.CsProj;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace AutogradKit.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project tests/AutogradKit.Benchmarks -- --filter '*'</c>.
/// </summary>
public static class Program
{
    /// <summary>
    /// Runs the benchmarks selected on the command line with <see cref="SuiteConfig"/>; <c>--smoke</c> runs each
    /// once (BenchmarkDotNet's Dry job), to check that they all work without measuring anything;
    /// <c>--interleaved</c> runs <see cref="Interleaved.InterleavedMode"/> instead of BenchmarkDotNet, and
    /// <c>--checkpoint-memory</c> counts the bytes a checkpointed step saves (<see cref="CheckpointBenchmarks.MeasureSavedBytes"/>),
    /// <c>--run-one</c> one side of one pair in a loop, for a profiler (<see cref="Profiling.RunOneMode"/>);
    /// <c>--wide-jacobian M</c> one Jacobian of R¹ → Rᴹ (<see cref="Profiling.WideJacobianMode"/>).
    /// </summary>
    public static int Main(string[] args)
    {
        if (args.Contains("--interleaved"))
        {
            return Interleaved.InterleavedMode.Run(args);
        }
        if (args.Contains("--checkpoint-memory"))
        {
            return CheckpointBenchmarks.MeasureSavedBytes();
        }
        if (args.Contains("--wide-jacobian"))
        {
            return Profiling.WideJacobianMode.Run(args);
        }
        if (args.Contains("--run-one"))
        {
            return Profiling.RunOneMode.Run(args);
        }
        bool smoke = args.Contains("--smoke");
        bool inProcess = args.Contains("--in-process");
        string[] rest = args.Where(a => a is not "--smoke" and not "--in-process").ToArray();
        IEnumerable<Summary> summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, SuiteConfig.Create(smoke, inProcess));
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}

/// <summary>
/// One job for the whole suite, sized so that every benchmark finishes in about ten minutes on two cores:
/// each benchmark in three processes of its own (BenchmarkDotNet's generated project, built once), each with
/// 2 warm-ups and 10 measured iterations of ~150 ms; the median is over all 30. Process isolation matters here
/// (a benchmark measured after the other classes in one shared process is slower; README.md, "Costs the code relies
/// on"), and one process alone can land on a slow or fast spell of this shared virtual machine.
/// </summary>
public static class SuiteConfig
{
    /// <summary>
    /// The suite's configuration; <paramref name="smoke"/> runs each benchmark once instead;
    /// <paramref name="inProcess"/> runs everything in this process (faster to start, but one benchmark's
    /// leftovers — libtorch's allocator, the GC heap — then slow the next ones down).
    /// </summary>
    public static IConfig Create(bool smoke = false, bool inProcess = false)
    {
        Job job = smoke
            ? Job.Dry.WithToolchain(InProcessEmitToolchain.Instance).WithId("Smoke")
            : Job.Default
                .WithToolchain(inProcess ? InProcessEmitToolchain.Instance : CsProjCoreToolchain.NetCoreApp10_0)
                .WithLaunchCount(3)
                .WithWarmupCount(2)
                .WithIterationCount(10)
                .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(150))
                .WithId("Suite");
        return ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(StatisticColumn.Median, StatisticColumn.Min)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddExporter(MarkdownExporter.GitHub, JsonExporter.Full, CsvExporter.Default)
            .AddAnalyser(BenchmarkDotNet.Analysers.EnvironmentAnalyser.Default, BenchmarkDotNet.Analysers.OutliersAnalyser.Default)
            .AddValidator(BenchmarkDotNet.Validators.BaselineValidator.FailOnError, BenchmarkDotNet.Validators.JitOptimizationsValidator.FailOnError)
            .WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared))
            .AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory)
            .WithSummaryStyle(SummaryStyle.Default.WithRatioStyle(RatioStyle.Trend));
    }
}
