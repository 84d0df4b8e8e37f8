using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace AutogradKit.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project tests/AutogradKit.Benchmarks -- --filter '*'</c>.
/// </summary>
public static class Program
{
    /// <summary>
    /// Runs the benchmarks selected on the command line with <see cref="SuiteConfig"/>; <c>--smoke</c> runs each
    /// once (BenchmarkDotNet's Dry job), to check that they all work without measuring anything.
    /// </summary>
    public static int Main(string[] args)
    {
        bool smoke = args.Contains("--smoke");
        string[] rest = args.Where(a => a != "--smoke").ToArray();
        IEnumerable<Summary> summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(rest, SuiteConfig.Create(smoke));
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}

/// <summary>
/// One job for the whole suite, sized so that every benchmark finishes in about ten minutes on two cores:
/// in-process (the libtorch natives and their load fix live in this project's output, and a generated
/// child project would have to rebuild them), 5 warm-ups, 25 measured iterations of ~250 ms, medians shown.
/// </summary>
public static class SuiteConfig
{
    /// <summary>The suite's configuration; <paramref name="smoke"/> runs each benchmark once instead.</summary>
    public static IConfig Create(bool smoke = false)
    {
        Job job = smoke ? Job.Dry.WithToolchain(InProcessEmitToolchain.Instance).WithId("Smoke") : Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(5)
            .WithIterationCount(25)
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(250))
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
