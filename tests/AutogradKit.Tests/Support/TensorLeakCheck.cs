using System.Collections.Concurrent;
using NUnit.Framework;
using NUnit.Framework.Interfaces;
using TorchSharp;

namespace AutogradKit.Tests.Support;

/// <summary>
/// Counts TorchSharp tensors that are still alive, the measure behind <see cref="NoTensorLeaksAttribute"/>.
/// </summary>
/// <remarks>
/// <see cref="torch.Tensor.TotalCount"/> counts every managed <c>Tensor</c> whose native handle has not been
/// freed, process-wide; a finalizer frees it too. So after a full GC and the finalizers, what is left is what
/// something still references: a static cache, a hook registry, a closure, a fixture field. That is a leak
/// for a library, whatever the caller does with its own tensors. <see cref="ThreadUndisposed"/> is the strict
/// measure: tensors created on this thread and not disposed on it (a finalizer does not count).
/// Neither sees a native <c>at::Tensor</c> that was never wrapped in a managed <c>Tensor</c>; the soak test's
/// resident-memory check covers those. Not thread-safe in meaning: tests measured this way must not run in
/// parallel with others that create tensors (this suite does not use <c>[Parallelizable]</c>).
/// </remarks>
public static class TensorLeakMonitor
{
    /// <summary>Runs the GC and the finalizers until no more tensors are freed (at most a few rounds).</summary>
    public static long SettledLiveCount()
    {
        long before = long.MaxValue;
        long now = torch.Tensor.TotalCount;
        for (int round = 0; round < 5 && now < before; round++)
        {
            before = now;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            now = torch.Tensor.TotalCount;
        }
        return now;
    }

    /// <summary>Tensors created on this thread minus those disposed on it (strict: finalizers do not count).</summary>
    public static long ThreadUndisposed => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
}

/// <summary>
/// One leak measurement around one test: <see cref="Begin"/> before it, <see cref="End"/> after it.
/// </summary>
/// <remarks>
/// The full GC and finalizers that <see cref="TensorLeakMonitor.SettledLiveCount"/> runs cost milliseconds a test
/// (tests/AutogradKit.Benchmarks/README.md, "Costs the code relies on"), and most tests
/// leave the live count where they found it. So the GC runs only when it can change the answer:
/// <list type="bullet">
/// <item><see cref="Begin"/> settles (collects) only when the live count differs from what the previous
/// measurement left settled; between two tests nothing usually creates tensors, so the count is the settled one.</item>
/// <item><see cref="End"/> collects only when the live count rose, or when tensors created on the test's thread were
/// not all disposed on it. Otherwise the settled count after the test is at most the raw count, which is at most the
/// settled count before it: no leak is possible, and no garbage tensor from the test's thread is left for the next
/// test's baseline.</item>
/// </list>
/// So the verdict is the one the always-collect check gave: live tensors after the test, after a full GC and the
/// finalizers, minus those before it. The one thing it trusts is that a test which created no net tensor did not
/// also leave garbage made on another thread behind while disposing an older tensor — a garbage tensor is counted
/// until its finalizer runs, so it would have raised the count. Static state; sequential tests only (as the
/// suite is).
/// </remarks>
public readonly struct TensorLeakProbe
{
    // The live count the last measurement left settled (no garbage tensor awaiting its finalizer), or -1 if unknown.
    private static long s_settledCount = -1;

    private readonly long _live;
    private readonly long _undisposed;

    private TensorLeakProbe(long live, long undisposed)
    {
        this._live = live;
        this._undisposed = undisposed;
    }

    /// <summary>How many full collections the probes of this process ran (for the fast path's own tests).</summary>
    public static int Collections { get; private set; }

    /// <summary>Takes the baseline before a test: the settled live count, collecting only if it may not be settled.</summary>
    public static TensorLeakProbe Begin()
    {
        long now = torch.Tensor.TotalCount;
        if (now != s_settledCount)
        {
            now = Settle();
        }
        return new TensorLeakProbe(now, TensorLeakMonitor.ThreadUndisposed);
    }

    /// <summary>Forgets the settled count: a test ran unmeasured (exempt or failed) and may have left garbage.</summary>
    public static void Invalidate() => s_settledCount = -1;

    /// <summary>Tensors created on the test's thread and not disposed on it since <see cref="Begin"/>.</summary>
    public long Undisposed => TensorLeakMonitor.ThreadUndisposed - _undisposed;

    /// <summary>
    /// Live tensors now, after a full GC and the finalizers, minus those at <see cref="Begin"/>; 0 or less without
    /// collecting when the raw count did not rise and the test's thread disposed all it created.
    /// </summary>
    public long LiveSinceBegin()
    {
        long now = torch.Tensor.TotalCount;
        if (now <= _live && Undisposed <= 0)
        {
            s_settledCount = now;
            return now - _live;
        }
        return Settle() - _live;
    }

    private static long Settle()
    {
        Collections++;
        s_settledCount = TensorLeakMonitor.SettledLiveCount();
        return s_settledCount;
    }
}

/// <summary>
/// Fails a test that leaves live native tensors behind it: tensors still alive after the test (after a full GC
/// and the finalizers) that were not alive before it. Put it on the assembly, a fixture or a test; opt a test
/// or fixture out with <see cref="AllowTensorLeaksAttribute"/> and a reason. With <see cref="Strict"/>, every
/// tensor created on the test's thread must also be disposed (Dispose, <c>using</c> or a dispose scope) —
/// a finalizer freeing it is not enough.
/// </summary>
/// <remarks>
/// Checked only when the test itself passed, so that a failure is never hidden behind a leak report. The
/// action runs around SetUp and TearDown, so tensors a fixture keeps in fields between tests count against
/// the test that created them: dispose them in TearDown, create them in OneTimeSetUp, or opt out.
/// The GC runs only when the counters say it can change the verdict (see <see cref="TensorLeakProbe"/>).
/// Stateless between tests except for a per-test baseline; safe for NUnit's sequential execution.
/// </remarks>
[AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class NoTensorLeaksAttribute : Attribute, ITestAction
{
    private static readonly ConcurrentDictionary<string, TensorLeakProbe> Baselines = new();

    /// <summary>Also require every tensor created on the test's thread to be disposed, not just unreachable.</summary>
    public bool Strict { get; set; }

    /// <inheritdoc />
    public ActionTargets Targets => ActionTargets.Test;

    /// <inheritdoc />
    public void BeforeTest(ITest test)
    {
        if (Exemption(test) is { ParameterDriftOnly: false } exemption)
        {
            TensorLeakProbe.Invalidate();
            return;
        }
        Baselines[Key(test)] = TensorLeakProbe.Begin();
    }

    /// <inheritdoc />
    public void AfterTest(ITest test)
    {
        if (!Baselines.TryRemove(Key(test), out TensorLeakProbe probe))
        {
            TensorLeakProbe.Invalidate();
            return;
        }
        if (TestContext.CurrentContext.Result.Outcome.Status != TestStatus.Passed)
        {
            TensorLeakProbe.Invalidate();
            return;
        }
        if (Verdict(probe, Strict, Exemption(test) is { ParameterDriftOnly: true }) is { } failure)
        {
            Assert.Fail(failure);
        }
    }

    /// <summary>The failure message for a test measured by <paramref name="probe"/>, or null when it left no leak.</summary>
    /// <param name="probe">The baseline taken before the test.</param>
    /// <param name="strict">Also fail on tensors created on the test's thread and never disposed.</param>
    /// <param name="parameterDriftOnly">Excuse TorchSharp's parameter miscount (see <see cref="AllowTensorLeaksAttribute"/>).</param>
    public static string? Verdict(TensorLeakProbe probe, bool strict, bool parameterDriftOnly)
    {
        long undisposed = probe.Undisposed;
        long live = probe.LiveSinceBegin();
        if (parameterDriftOnly)
        {
            // TorchSharp's miscount adds to TotalCount only; a real leak on this thread is also undisposed here.
            live = Math.Min(live, undisposed);
        }
        if (live > 0)
        {
            return $"{live} tensor(s) created by this test are still alive after it, after a full GC and the finalizers: something keeps a reference to them (a static, a hook, a closure, a fixture field). Dispose them, or mark the test [AllowTensorLeaks(\"why\")]. If the test makes nn.Parameters or modules, see AllowTensorLeaksAttribute.TorchSharpParameterCount. Thread statistics: {DisposeScopeManager.Statistics}";
        }
        if (strict && undisposed > 0)
        {
            return $"{undisposed} tensor(s) created on this test's thread were never disposed (left to the finalizer). Dispose them or use torch.NewDisposeScope(). Thread statistics: {DisposeScopeManager.Statistics}";
        }
        return null;
    }

    // One baseline per (attribute, test): an assembly-wide and a fixture-level Strict check may wrap the same test.
    private string Key(ITest test) => $"{test.Id}/{System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(this)}";

    private static AllowTensorLeaksAttribute? Exemption(ITest test) =>
        test.Method?.GetCustomAttributes<AllowTensorLeaksAttribute>(true).FirstOrDefault()
        ?? test.TypeInfo?.GetCustomAttributes<AllowTensorLeaksAttribute>(true).FirstOrDefault();
}

/// <summary>
/// Exempts a test or fixture from <see cref="NoTensorLeaksAttribute"/>: for tests that keep tensors on purpose
/// (a process-lifetime cache warmed on first use, a fixture's shared data). The reason is required.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 miscounts <see cref="TorchSharp.Modules.Parameter"/>: its constructor takes the handle of
/// the tensor it is given (<c>MoveHandle</c>) without decrementing <see cref="torch.Tensor.TotalCount"/>, so
/// every <c>new Parameter(t)</c> — and so every <c>nn.Linear</c> and other module with parameters — leaves
/// <c>TotalCount</c> one higher forever, though nothing leaked. Tests that make parameters use
/// <see cref="TorchSharpParameterCount"/> as the reason and, when they dispose what they create, set
/// <see cref="ParameterDriftOnly"/>: the check then still fails on a tensor that is alive and was never
/// disposed on the test's thread, and only TorchSharp's miscount is excused.
/// </remarks>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class AllowTensorLeaksAttribute(string reason) : Attribute
{
    /// <summary>The reason for tests that create <c>nn.Parameter</c>s or modules (see the remarks).</summary>
    public const string TorchSharpParameterCount =
        "TorchSharp's Parameter(Tensor) constructor moves the tensor's handle without decrementing Tensor.TotalCount: each parameter counts one tensor forever";

    /// <summary>Why this test may leave tensors alive.</summary>
    public string Reason { get; } = reason;

    /// <summary>Excuse only TorchSharp's parameter miscount, not tensors that are alive and were never disposed.</summary>
    public bool ParameterDriftOnly { get; set; }
}
