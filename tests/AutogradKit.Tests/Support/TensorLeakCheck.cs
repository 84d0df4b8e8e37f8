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
/// Stateless between tests except for a per-test baseline; safe for NUnit's sequential execution.
/// </remarks>
[AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class NoTensorLeaksAttribute : Attribute, ITestAction
{
    private static readonly ConcurrentDictionary<string, (long Live, long Undisposed)> Baselines = new();

    /// <summary>Also require every tensor created on the test's thread to be disposed, not just unreachable.</summary>
    public bool Strict { get; set; }

    /// <inheritdoc />
    public ActionTargets Targets => ActionTargets.Test;

    /// <inheritdoc />
    public void BeforeTest(ITest test)
    {
        if (Exemption(test) is { ParameterDriftOnly: false })
        {
            return;
        }
        Baselines[Key(test)] = (TensorLeakMonitor.SettledLiveCount(), TensorLeakMonitor.ThreadUndisposed);
    }

    /// <inheritdoc />
    public void AfterTest(ITest test)
    {
        if (!Baselines.TryRemove(Key(test), out (long Live, long Undisposed) before))
        {
            return;
        }
        if (TestContext.CurrentContext.Result.Outcome.Status != TestStatus.Passed)
        {
            return;
        }
        long undisposed = TensorLeakMonitor.ThreadUndisposed - before.Undisposed;
        long live = TensorLeakMonitor.SettledLiveCount() - before.Live;
        if (Exemption(test) is { ParameterDriftOnly: true })
        {
            // TorchSharp's miscount adds to TotalCount only; a real leak on this thread is also undisposed here.
            live = Math.Min(live, undisposed);
        }
        if (live > 0)
        {
            Assert.Fail($"{live} tensor(s) created by this test are still alive after it, after a full GC and the finalizers: something keeps a reference to them (a static, a hook, a closure, a fixture field). Dispose them, or mark the test [AllowTensorLeaks(\"why\")]. If the test makes nn.Parameters or modules, see AllowTensorLeaksAttribute.TorchSharpParameterCount. Thread statistics: {DisposeScopeManager.Statistics}");
        }
        if (Strict && undisposed > 0)
        {
            Assert.Fail($"{undisposed} tensor(s) created on this test's thread were never disposed (left to the finalizer). Dispose them or use torch.NewDisposeScope(). Thread statistics: {DisposeScopeManager.Statistics}");
        }
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
