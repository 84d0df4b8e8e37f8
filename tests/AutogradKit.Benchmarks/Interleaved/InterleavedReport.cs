using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AutogradKit.Benchmarks.Interleaved;

/// <summary>
/// What <c>--interleaved</c> writes to its JSON file (schema <c>autogradkit-interleaved/1</c>, snake_case keys;
/// README describes it) and prints as a Markdown table. Times are µs per call. Immutable.
/// </summary>
/// <param name="Schema">Always <see cref="SchemaName"/>.</param>
/// <param name="StartedUtc">When the run started.</param>
/// <param name="FinishedUtc">When it ended.</param>
/// <param name="Machine">Where it ran.</param>
/// <param name="Settings">The command line's settings.</param>
/// <param name="PytorchError">Why PyTorch was not (fully) measured, or null.</param>
/// <param name="Pairs">One result a pair, in table order.</param>
public sealed record InterleavedReport(
    string Schema,
    DateTimeOffset StartedUtc,
    DateTimeOffset FinishedUtc,
    MachineInfo Machine,
    RunSettings Settings,
    string? PytorchError,
    IReadOnlyList<PairResult> Pairs)
{
    /// <summary>The schema's name and version.</summary>
    public const string SchemaName = "autogradkit-interleaved/1";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Writes the report as JSON to <paramref name="path"/>, creating its folder.</summary>
    public void Save(string path)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }
        File.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");
    }

    /// <summary>The Markdown table (same columns and formats as <c>compare.py --interleaved</c>).</summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine("| Benchmark | AutogradKit | raw TorchSharp | PyTorch | Kit ÷ raw median [IQR] | Kit ÷ PyTorch median [IQR] | Target | Met |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---|---|");
        foreach (PairResult p in Pairs)
        {
            var targets = new List<string>();
            var met = new List<bool>();
            bool spans = false;
            void Check(double? max, RatioStats? stats, string against)
            {
                if (max is not { } m)
                {
                    return;
                }
                targets.Add($"≤ {m.ToString("0.00", CultureInfo.InvariantCulture)}× {against}");
                if (stats is not null)
                {
                    met.Add(stats.Median <= m);
                    spans |= stats.Q25 <= m && m <= stats.Q75;
                }
            }
            Check(p.TargetKitRaw, p.KitRaw, "raw");
            Check(p.TargetKitPytorch, p.KitPytorch, "PyTorch");
            bool pytorchMissing = p.TargetKitPytorch is not null && p.KitPytorch is null;
            string metCell = met.Count == 0
                ? "—"
                : (met.All(m => m) ? "yes" : "NO") + (spans ? " (IQR spans target)" : "") + (pytorchMissing ? " (no PyTorch)" : "");
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {p.Name} | {Time(p.MedianUs.Kit)} | {Time(p.MedianUs.Raw)}{(p.RawIsEquivalent ? "" : " (scale)")} | {Time(p.MedianUs.Pytorch)} | "
                + $"{Ratio(p.KitRaw, "0.00")} | {Ratio(p.KitPytorch, "0.000")} | {(targets.Count == 0 ? "—" : string.Join(", ", targets))} | {metCell} |");
        }
        return text.ToString();
    }

    /// <summary>µs as compare.py prints them: ns below 1 µs, ms from 1000 µs.</summary>
    public static string Time(double? us) => us switch
    {
        null => "—",
        < 1 => (us.Value * 1000).ToString("0.0", CultureInfo.InvariantCulture) + " ns",
        < 1000 => us.Value.ToString("0.00", CultureInfo.InvariantCulture) + " µs",
        _ => (us.Value / 1000).ToString("0.000", CultureInfo.InvariantCulture) + " ms",
    };

    private static string Ratio(RatioStats? s, string format) => s is null
        ? "—"
        : string.Create(CultureInfo.InvariantCulture, $"{s.Median.ToString(format, CultureInfo.InvariantCulture)}× [{s.Q25.ToString(format, CultureInfo.InvariantCulture)}–{s.Q75.ToString(format, CultureInfo.InvariantCulture)}]");
}

/// <summary>The machine and versions of a run. Immutable.</summary>
/// <param name="Host">Machine name.</param>
/// <param name="Os">OS description.</param>
/// <param name="Cpu">The CPU's model name (/proc/cpuinfo), or null.</param>
/// <param name="ProcessorCount">Logical processors.</param>
/// <param name="Dotnet">.NET runtime.</param>
/// <param name="Torchsharp">TorchSharp's assembly version.</param>
/// <param name="Pytorch">PyTorch and Python versions, or null without PyTorch.</param>
/// <param name="LoadavgStart">/proc/loadavg at the start, or null.</param>
/// <param name="LoadavgEnd">/proc/loadavg at the end, or null.</param>
public sealed record MachineInfo(string Host, string Os, string? Cpu, int ProcessorCount, string Dotnet, string Torchsharp, string? Pytorch, string? LoadavgStart, string? LoadavgEnd);

/// <summary>The settings of a run. Immutable.</summary>
/// <param name="Rounds">Rounds a pair.</param>
/// <param name="BlockMs">Target length of one block.</param>
/// <param name="Filter">The pair filter, or null for all.</param>
public sealed record RunSettings(int Rounds, int BlockMs, string? Filter);

/// <summary>One pair's result. Immutable.</summary>
/// <param name="Id">The pair's short name.</param>
/// <param name="Name">The row label.</param>
/// <param name="Kit">The AutogradKit benchmark, <c>Class.Method</c> (BenchmarkDotNet's key).</param>
/// <param name="Raw">The raw TorchSharp benchmark, <c>Class.Method</c>.</param>
/// <param name="RawIsEquivalent">False when raw is only a scale.</param>
/// <param name="Pytorch">The PyTorch case name, or null.</param>
/// <param name="PytorchError">Why the PyTorch side is missing or partial, or null.</param>
/// <param name="TargetKitRaw">Largest acceptable Kit ÷ raw, or null.</param>
/// <param name="TargetKitPytorch">Largest acceptable Kit ÷ PyTorch, or null.</param>
/// <param name="Loops">Calls a block, per contender.</param>
/// <param name="MedianUs">Median per-call time over the rounds, per contender.</param>
/// <param name="KitRaw">Per-round Kit ÷ raw: median and IQR.</param>
/// <param name="KitPytorch">Per-round Kit ÷ PyTorch: median and IQR, or null.</param>
/// <param name="Rounds">Every round: block order and per-call times.</param>
public sealed record PairResult(
    string Id,
    string Name,
    string Kit,
    string Raw,
    bool RawIsEquivalent,
    string? Pytorch,
    string? PytorchError,
    double? TargetKitRaw,
    double? TargetKitPytorch,
    ContenderValues<long> Loops,
    ContenderValues<double> MedianUs,
    RatioStats? KitRaw,
    RatioStats? KitPytorch,
    IReadOnlyList<RoundResult> Rounds);

/// <summary>A value for each contender (PyTorch's null when it has none). Immutable.</summary>
/// <typeparam name="T">The value's type.</typeparam>
/// <param name="Kit">AutogradKit's.</param>
/// <param name="Raw">Raw TorchSharp's.</param>
/// <param name="Pytorch">PyTorch's, or null.</param>
public sealed record ContenderValues<T>(T Kit, T Raw, T? Pytorch)
    where T : struct;

/// <summary>One round of a pair: the order its blocks ran in and each one's per-call time (µs). Immutable.</summary>
/// <param name="Order">Contender labels in the order they ran.</param>
/// <param name="KitUs">AutogradKit's per-call time.</param>
/// <param name="RawUs">Raw TorchSharp's.</param>
/// <param name="PytorchUs">PyTorch's, or null.</param>
public sealed record RoundResult(IReadOnlyList<string> Order, double KitUs, double RawUs, double? PytorchUs);
