using System.Runtime.InteropServices;

namespace AutogradKit;

/// <summary>The C++ ABI of this process's libtorch, which decides its exports' names and the layouts in <see cref="AbiFacts"/>.</summary>
internal enum CxxAbi
{
    /// <summary>A platform whose libtorch AutogradKit has not verified (macOS, Linux arm64, Windows arm64): no C++ export is called.</summary>
    Unverified,

    /// <summary>Linux x64: libtorch built with GCC and libstdc++ (Itanium C++ ABI), the facts of <see cref="AbiFacts.VerifiedOn"/>.</summary>
    Itanium,

    /// <summary>Windows x64: libtorch built with MSVC (its own C++ ABI and STL), the facts of <see cref="AbiFacts.Msvc"/>.</summary>
    Msvc,
}

/// <summary>
/// The one table of libtorch's C++ exports that more than one platform reaches, each by the name it has under each
/// <see cref="CxxAbi"/>: a call is resolved here, by platform, before it is attempted, so an export that was not
/// verified on this platform is refused with <see cref="PlatformSupport.NotSupported(string, string)"/> and never becomes an
/// <see cref="EntryPointNotFoundException"/> thrown across native frames (which Wine 8.0's SEH list does not survive).
/// </summary>
/// <remarks>
/// Features verified on Linux x64 only declare their exports with <c>LibraryImport</c> and are gated as a whole by
/// their first-use check (<see cref="FirstUseCheck.Once"/>, <see cref="AbiFacts.IsVerifiedPlatform"/>); an export
/// moves here when a second ABI's name for it is verified. The MSVC names were read from TorchSharp 0.107.0's
/// win-x64 <c>torch_cpu.dll</c> and <c>c10.dll</c> (their PE export tables). Thread-safe: an address is resolved at most
/// a few times (racing resolutions store the same value).
/// </remarks>
internal static class CxxExports
{
    /// <summary>This process's C++ ABI.</summary>
    internal static CxxAbi Abi { get; } =
        RuntimeInformation.ProcessArchitecture != Architecture.X64 ? CxxAbi.Unverified
        : OperatingSystem.IsLinux() ? CxxAbi.Itanium
        : OperatingSystem.IsWindows() ? CxxAbi.Msvc
        : CxxAbi.Unverified;

    /// <summary><c>const std::shared_ptr&lt;Node&gt;&amp; at::TensorBase::grad_fn() const</c>.</summary>
    internal static readonly Export TensorGradFn = new(Libraries.TorchCpu,
        "_ZNK2at10TensorBase7grad_fnEv",
        "?grad_fn@TensorBase@at@@QEBAAEBV?$shared_ptr@UNode@autograd@torch@@@std@@XZ");

    /// <summary><c>bool at::TensorBase::is_view() const</c>.</summary>
    internal static readonly Export TensorIsView = new(Libraries.TorchCpu,
        "_ZNK2at10TensorBase7is_viewEv",
        "?is_view@TensorBase@at@@QEBA_NXZ");

    /// <summary>The base <c>std::string torch::autograd::Node::name() const</c> (returned through a hidden pointer).</summary>
    internal static readonly Export NodeName = new(Libraries.TorchCpu,
        "_ZNK5torch8autograd4Node4nameB5cxx11Ev",
        "?name@Node@autograd@torch@@UEBA?AV?$basic_string@DU?$char_traits@D@std@@V?$allocator@D@2@@std@@XZ");

    /// <summary>
    /// <c>const edge_list&amp; torch::autograd::Node::next_edges() const</c>: the address of <c>next_edges_</c>, which the
    /// MSVC first-use check compares with its offset (inline in Linux's libtorch_cpu.so, whose check proves the offset by
    /// the edges alone).
    /// </summary>
    internal static readonly Export NodeNextEdges = new(Libraries.TorchCpu,
        null,
        "?next_edges@Node@autograd@torch@@QEBAAEBV?$vector@UEdge@autograd@torch@@V?$allocator@UEdge@autograd@torch@@@std@@@std@@XZ");

    /// <summary>
    /// What frees a heap buffer libtorch's <c>std::string</c> allocated: libstdc++'s <c>operator delete(void*)</c>;
    /// on Windows the UCRT's <c>free</c>, which MSVC's <c>operator new</c> allocates with (buffers below 4 KiB, which
    /// carry no alignment header).
    /// </summary>
    internal static readonly Export StringBufferFree = new(
        Abi == CxxAbi.Msvc ? Libraries.Ucrt : Libraries.CxxRuntime,
        "_ZdlPv",
        "free");

    /// <summary><c>static uint64_t torch::autograd::ForwardADLevel::get_next_idx()</c>.</summary>
    internal static readonly Export ForwardLevelNext = new(Libraries.TorchCpu,
        "_ZN5torch8autograd14ForwardADLevel12get_next_idxEv",
        "?get_next_idx@ForwardADLevel@autograd@torch@@SA_KXZ");

    /// <summary><c>static void torch::autograd::ForwardADLevel::release_idx(uint64_t)</c>.</summary>
    internal static readonly Export ForwardLevelRelease = new(Libraries.TorchCpu,
        "_ZN5torch8autograd14ForwardADLevel11release_idxEm",
        "?release_idx@ForwardADLevel@autograd@torch@@SAX_K@Z");

    /// <summary><c>static torch::autograd::Engine&amp; Engine::get_default_engine()</c>.</summary>
    internal static readonly Export EngineDefault = new(Libraries.TorchCpu,
        "_ZN5torch8autograd6Engine18get_default_engineEv",
        "?get_default_engine@Engine@autograd@torch@@SAAEAU123@XZ");

    /// <summary><c>bool torch::autograd::Engine::is_checkpoint_valid()</c>.</summary>
    internal static readonly Export EngineIsCheckpointValid = new(Libraries.TorchCpu,
        "_ZN5torch8autograd6Engine19is_checkpoint_validEv",
        "?is_checkpoint_valid@Engine@autograd@torch@@QEAA_NXZ");

    // ---- engine override (saved-tensor hooks, checkpointing, anomaly traces): NativeEngine, NativeSavedTensorsHooks,
    // NativeAnomalyMetadata; MSVC names read from torch_cpu.dll's export table, checked at first use by NativeEngine. ----

    /// <summary><c>void torch::autograd::impl::bump_version(const at::Tensor&amp;)</c>.</summary>
    internal static readonly Export AutogradBumpVersion = new(Libraries.TorchCpu,
        "_ZN5torch8autograd4impl12bump_versionERKN2at6TensorE",
        "?bump_version@impl@autograd@torch@@YAXAEBVTensor@at@@@Z");

    /// <summary>
    /// <c>operator new(size_t)</c> for a small block that libtorch or TorchSharp frees with <c>delete</c> (an
    /// <c>at::Tensor*</c> shell that <c>THSTensor_dispose</c> deletes): libstdc++'s; on Windows the UCRT's <c>malloc</c>,
    /// which MSVC's <c>operator new</c> calls (LibTorchSharp.dll links it statically and imports <c>malloc</c>/<c>free</c>
    /// from the UCRT heap set) for blocks below 4 KiB.
    /// </summary>
    internal static readonly Export OperatorNew = new(
        Abi == CxxAbi.Msvc ? Libraries.Ucrt : Libraries.CxxRuntime,
        "_Znwm",
        "malloc");

    /// <summary>
    /// <c>operator delete(void*)</c> without a destructor, the counterpart of <see cref="OperatorNew"/> (the same
    /// function as <see cref="StringBufferFree"/>, named for what it frees here: a tensor shell).
    /// </summary>
    internal static readonly Export OperatorDelete = new(
        Abi == CxxAbi.Msvc ? Libraries.Ucrt : Libraries.CxxRuntime,
        "_ZdlPv",
        "free");

    // ---- end engine override ----

    /// <summary>One C++ export under each ABI's name (null: not verified under that ABI).</summary>
    internal sealed class Export(string library, string? itanium, string? msvc)
    {
        private IntPtr _address;

        /// <summary>The export's name on this platform, or null when it may not be called here.</summary>
        public string? Name => Abi switch
        {
            CxxAbi.Itanium => itanium,
            CxxAbi.Msvc => msvc,
            _ => null,
        };

        /// <summary>Whether this platform has a verified name for the export (it is still resolved only when called).</summary>
        public bool IsAvailable => Name is not null;

        /// <summary>
        /// The export's address, resolved once. Throws <see cref="PlatformSupport.NotSupported(string, string)"/>
        /// (<paramref name="feature"/>, <paramref name="reason"/>) where the platform has no verified name, and the same
        /// shape naming the symbol where the library lacks it: no native call is attempted either way.
        /// </summary>
        public IntPtr Address(string feature, string reason)
        {
            IntPtr address = Volatile.Read(ref _address);
            if (address != IntPtr.Zero)
            {
                return address;
            }
            if (Name is not { } name)
            {
                throw msvc is null ? PlatformSupport.NotSupported(feature, reason)
                    : PlatformSupport.NotSupported(feature, reason, PlatformSupport.VerifiedOnLinuxAndWindows);
            }
            if (!NativeLibrary.TryLoad(library, typeof(CxxExports).Assembly, null, out IntPtr handle)
                || !NativeLibrary.TryGetExport(handle, name, out address))
            {
                throw PlatformSupport.NotSupported(feature, $"{reason}, and {library} does not export {name}", Abi == CxxAbi.Msvc ? AbiFacts.Msvc.VerifiedOn : AbiFacts.VerifiedOn);
            }
            Volatile.Write(ref _address, address);
            return address;
        }
    }
}
