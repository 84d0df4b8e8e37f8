using System.Diagnostics;
using System.Reflection;
using AutogradKit.Tests.Support;
using NUnit.Framework;

namespace AutogradKit.Tests.Robustness;

/// <summary>
/// Misuse never crashes: the randomized misuse runner (tests/AutogradKit.Misuse) makes a few thousand wrong
/// calls in a child process, so that a native abort ends the child, not the test run, and is reported here
/// with its exit code and the last call it made.
/// </summary>
public class MisuseTests
{
    private const int Seed = 20261125;

    [Test]
    public void RandomMisuse_3000Calls_EverySucceedsOrThrowsADocumentedException()
    {
        ChildResult child = RunChild($"--seed {Seed} --calls 3000");
        TestContext.Out.WriteLine(child.Summary);
        Assert.That(child.ExitCode, Is.EqualTo(0), child.Describe());
    }

    [Test]
    public void Harness_ReportsANativeAbortWithTheLastCall()
    {
        // TorchSharp's own torch.autograd.grad with an unused input aborts the process: the one call known to.
        ChildResult child = RunChild("--abort-probe");
        Assert.That(child.ExitCode, Is.Not.EqualTo(0), child.Describe());
        Assert.That(child.LastCall, Does.Contain("raw TorchSharp torch.autograd.grad with an unused input"), child.Describe());
    }

    /// <summary>Runs the misuse runner with <paramref name="arguments"/>, collecting its stdout and stderr lines.</summary>
    internal static ChildResult RunChild(string arguments)
    {
        // .ci/windows-check publishes the runner as an executable beside the tests (Wine cannot start the Linux dotnet host).
        string published = Path.Combine(AppContext.BaseDirectory, "AutogradKit.Misuse.exe");
        bool usePublished = OperatingSystem.IsWindows() && File.Exists(published);
        if (!usePublished)
        {
            Wine.IgnoreIfRunning("the misuse runner published beside the tests (AutogradKit.Misuse.exe) to run it in a child process");
        }
        string runner = usePublished ? published : typeof(MisuseTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "AutogradKit.Misuse").Value!;
        Assume.That(File.Exists(runner), $"misuse runner not built at {runner}");
        var start = new ProcessStartInfo(usePublished ? runner : "dotnet", usePublished ? arguments : $"\"{runner}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(runner)!,
        };
        var lines = new List<string>();
        var errors = new List<string>();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (lines) { lines.Add(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (errors) { errors.Add(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (lines)
            {
                Assert.Fail($"misuse runner did not finish in 4 minutes; last call: {lines.LastOrDefault(l => l.StartsWith("CALL ", StringComparison.Ordinal))}");
            }
        }
        process.WaitForExit(); // drains the redirected streams
        return new ChildResult(process.ExitCode, lines, errors);
    }

    internal sealed record ChildResult(int ExitCode, List<string> Output, List<string> Errors)
    {
        public string? LastCall => Output.LastOrDefault(l => l.StartsWith("CALL ", StringComparison.Ordinal));

        public string Summary => string.Join(Environment.NewLine, Output.SkipWhile(l => !l.StartsWith("outcomes", StringComparison.Ordinal)));

        public string Describe()
        {
            string signal = ExitCode > 128 ? $" (signal {ExitCode - 128}{(ExitCode == 134 ? ", SIGABRT: a native abort" : ExitCode == 139 ? ", SIGSEGV" : "")})" : "";
            var failures = Output.Where(l => l.StartsWith("FAIL ", StringComparison.Ordinal)).Take(20);
            return $"misuse runner exited with {ExitCode}{signal}; last call: {LastCall ?? "(none)"}{Environment.NewLine}"
                + string.Join(Environment.NewLine, failures) + Environment.NewLine
                + "stderr (last lines):" + Environment.NewLine + string.Join(Environment.NewLine, Errors.TakeLast(15));
        }
    }
}
