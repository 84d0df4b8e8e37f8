using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// The one override of libtorch's autograd engine: PyTorch reaches saved-tensor hooks (and anomaly metadata) through
/// virtual functions of <c>torch::autograd::Engine</c> that its Python engine overrides and libtorch's base engine
/// leaves empty. AutogradKit points the default engine object's vtable pointer at a copy of its vtable (unmanaged,
/// never freed) whose <see cref="EngineAbi.SavedVariableHooksSlot"/> is <see cref="DefaultSavedVariableHooks"/>
/// and whose <see cref="EngineAbi.MakeAnomalyMetadataSlot"/> makes <see cref="NativeAnomalyMetadata"/>'s objects
/// (called by libtorch only while anomaly mode is on).
/// </summary>
/// <remarks>
/// <para>Installed once per process, when a feature first needs it (<see cref="EnsureInstalled"/>), after the first-use
/// check proved the vtable's shape against libtorch's exports; never undone (the copy outlives every call through
/// it, and nothing else relies on the original pointer). The engine object is process-wide: the C# slot decides per
/// thread, from the flow the thread runs (<see cref="AppliedScopes.CurrentSavedHooks"/>), and returns null at once
/// when that flow has no hooks scope, so an installed override costs one thread-static read per saved tensor.</para>
/// <para>Thread-safety: the install is one aligned pointer store, done once under a <see cref="Lazy{T}"/>; a virtual
/// call racing with it uses either table, both valid forever.</para>
/// </remarks>
internal static unsafe class NativeEngine
{
    private static readonly Lazy<Exception?> Installed = new(InstallOnFreshThread, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly double[] KnownInput = [1.0, 2.0, 3.0];

    private static IntPtr* s_slots;

    /// <summary>Installs the override if it is not yet; throws the first-use check's failure.</summary>
    /// <exception cref="NotSupportedException">The engine's vtable is not the one <see cref="AbiFacts.VerifiedOn"/> (Linux x64) or <see cref="AbiFacts.Msvc.VerifiedOn"/> (Windows x64) describes.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux x64 or Windows x64.</exception>
    internal static void EnsureInstalled()
    {
        if (Installed.Value is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>Installs the override if it can be; false (and nothing changed) where the first-use check failed.</summary>
    internal static bool TryInstall() => Installed.Value is null;

    /// <summary>Whether the override is in place (for tests).</summary>
    internal static bool IsInstalled => Installed.IsValueCreated && Installed.Value is null;


    /// <summary>
    /// <c>torch.autograd._is_checkpoint_valid()</c>: whether the backward pass running on this thread computes every
    /// gradient (<c>backward()</c>), as reentrant checkpointing needs, rather than those of given inputs (<c>grad</c>).
    /// </summary>
    internal static bool IsCheckpointValid
    {
        get
        {
            LibTorchLoader.EnsureLoaded();
            return NativeMethods.Engine_is_checkpoint_valid(NativeMethods.Engine_get_default_engine());
        }
    }

    private static Exception? InstallOnFreshThread() => FirstUseCheck.Run(Install, "AutogradKit engine override check");

    private static Exception? Install()
    {
        if (PlatformSupport.RefusedOnUnverifiedAbi("Saved-tensor hooks, checkpointing and anomaly traces", "they override libtorch's autograd engine") is { } refused)
        {
            return refused;
        }
        try
        {
            LibTorchLoader.EnsureLoaded();
            IntPtr torch = NativeLibrary.Load(Libraries.TorchCpu, typeof(NativeEngine).Assembly, null);
            IntPtr engine = NativeMethods.Engine_get_default_engine();
            IntPtr* vptr = *(IntPtr**)engine;
            if (vptr != EngineAbi.Slots(torch, EngineAbi.EngineVtable))
            {
                return Mismatch("the default engine's vtable is not libtorch's Engine vtable (another engine is installed).");
            }
            // MSVC's word there is the complete object locator, which no export names; the vftable itself is exported.
            if (EngineAbi.EngineTypeInfo is { } typeInfo && vptr[-1] != NativeLibrary.GetExport(torch, typeInfo))
            {
                return Mismatch("the default engine's type_info is not torch::autograd::Engine's.");
            }
            foreach ((int slot, string symbol) in EngineAbi.EngineExportedSlots)
            {
                if (!NativeLibrary.TryGetExport(torch, symbol, out IntPtr address) || vptr[slot] != address)
                {
                    return Mismatch($"vtable slot {slot} is not {symbol}.");
                }
            }
            // The two slots by what they do (unexported on Linux): the base engine has no hooks and makes a plain AnomalyMetadata.
            if (EngineAbi.CallReturningPointer(vptr[EngineAbi.SavedVariableHooksSlot], engine) != IntPtr.Zero)
            {
                return Mismatch($"vtable slot {EngineAbi.SavedVariableHooksSlot} did not return the base engine's null hooks.");
            }
            if (NativeAnomalyMetadata.CheckBaseFactory(torch, vptr[EngineAbi.MakeAnomalyMetadataSlot], engine) is { } anomalyFailure)
            {
                return Mismatch(anomalyFailure);
            }

            IntPtr* copy = EngineAbi.AllocateVtable(EngineAbi.EngineSlotCount);
            int words = EngineAbi.PrefixWords + EngineAbi.EngineSlotCount;
            new ReadOnlySpan<IntPtr>(vptr - EngineAbi.PrefixWords, words).CopyTo(new Span<IntPtr>(copy - EngineAbi.PrefixWords, words));
            s_slots = copy;
            s_slots[EngineAbi.SavedVariableHooksSlot] =
                (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr*>)&DefaultSavedVariableHooks;
            s_slots[EngineAbi.MakeAnomalyMetadataSlot] = NativeAnomalyMetadata.Factory(torch);
            Volatile.Write(ref *(IntPtr*)engine, (IntPtr)s_slots);
            return CheckHooksOnKnownGraph();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Mismatch(e.Message);
        }
    }

    /// <summary>
    /// <c>get_default_saved_variable_hooks()</c>: a new hooks object for the calling thread's innermost
    /// <see cref="Autograd.Graph.SavedTensorsHooks"/> scope, or null (no scope, or hooks disabled). Called with
    /// <c>this</c> and the result pointer in the ABI's order (<see cref="EngineAbi.ResultOf"/>).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static IntPtr* DefaultSavedVariableHooks(IntPtr first, IntPtr second)
    {
        IntPtr* result = EngineAbi.ResultOf(first, second);
        *result = IntPtr.Zero;
        SavedTensorsHooksEntry? entry = AppliedScopes.CurrentSavedHooks;
        if (entry is not null && !entry.IsDisabling)
        {
            *result = NativeSavedTensorsHooks.Create(entry);
        }
        return result;
    }

    /// <summary>
    /// The hooks' slots on a graph whose answer is known: <c>(x * x).sum()</c> saves <c>x</c> twice, so two packs of
    /// <c>x</c>, two unpacks, and the gradient <c>2x</c>; the override is left in place either way (a null hooks slot
    /// for every flow without a scope), but a failure keeps every hooks scope from opening.
    /// </summary>
    private static NotSupportedException? CheckHooksOnKnownGraph()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor x = torch.tensor(KnownInput, requires_grad: true);
        int packedX = 0;
        int unpacks = 0;
        var entry = SavedTensorsHooksEntry.Hooks(
            t =>
            {
                if (t.Handle != IntPtr.Zero && *(IntPtr*)t.Handle == *(IntPtr*)x.Handle)
                {
                    packedX++;
                }
                return t;
            },
            o =>
            {
                unpacks++;
                return (Tensor)o;
            },
            ownsResults: false);
        Tensor y;
        using (GradModeScope.OpenSavedTensorsHooks(entry))
        {
            y = (x * x).sum();
        }
        HookErrors.Run(() => y.backward());
        if (entry._packCount != 2 || packedX != 2 || unpacks != 2 || x.grad is not { } grad || !grad.allclose(2 * x))
        {
            return Mismatch($"saved-tensor hooks on x * x packed {entry._packCount} tensors ({packedX} of them x) and unpacked {unpacks}, not 2, 2 and 2 with gradient 2x.");
        }
        return null;
    }

    private static NotSupportedException Mismatch(string detail) =>
        new($"Saved-tensor hooks, checkpointing and anomaly traces need {PlatformSupport.VerifiedOnThisAbi}; the first-use check of libtorch's autograd engine failed: {detail}");
}
