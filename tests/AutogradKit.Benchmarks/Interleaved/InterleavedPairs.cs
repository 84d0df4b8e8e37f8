namespace AutogradKit.Benchmarks.Interleaved;

/// <summary>
/// One row of the interleaved table: an AutogradKit benchmark method and its raw TorchSharp pair, both on the
/// same BenchmarkDotNet class (<see cref="Class"/>), and optionally the PyTorch case (a name that a
/// <c>pytorch/bench_*.py</c> module yields) that does the same work. Immutable.
/// </summary>
/// <param name="Id">Short name that <c>--filter</c> matches (as does <paramref name="Name"/>).</param>
/// <param name="Name">The row's label, as in README's tables.</param>
/// <param name="Class">The benchmark class whose [GlobalSetup], [Benchmark] and [GlobalCleanup] methods are run.</param>
/// <param name="Kit">The AutogradKit [Benchmark] method.</param>
/// <param name="Raw">The raw TorchSharp [Benchmark] method.</param>
/// <param name="RawIsEquivalent">False where the raw method is only a scale (it does not do the same work).</param>
/// <param name="PyTorch">The PyTorch case name, or null.</param>
/// <param name="MaxKitRaw">Target: the largest acceptable Kit ÷ raw ratio, or null.</param>
/// <param name="MaxKitPyTorch">Target: the largest acceptable Kit ÷ PyTorch ratio, or null.</param>
public sealed record PairSpec(
    string Id,
    string Name,
    Type Class,
    string Kit,
    string Raw,
    bool RawIsEquivalent,
    string? PyTorch,
    double? MaxKitRaw,
    double? MaxKitPyTorch);

/// <summary>
/// The pairs the interleaved mode measures, with the issues' targets: every AutogradKit path ≤ 1.03× raw
/// (ZeroGrad ≤ 1.00×) except the grad-mode scopes, which follow the async flow and must stay ≤ 0.50× PyTorch
/// (issue 10 §4), training step ≤ 1.00× PyTorch, Jacobian loop ≤ 0.90× PyTorch, Jacobian vectorize
/// ≤ 0.50× PyTorch, Repr 30×30 ≤ 0.10× PyTorch, per-sample gradients ≤ 0.10× a loop of Grad and ≤ 0.50×
/// functorch, Vmap of a 64×64 elementwise operation ≤ 2× the operation. Only the benchmark methods already in this
/// project are named here (nothing is re-implemented). Thread-safe (immutable).
/// </summary>
public static class InterleavedPairs
{
    /// <summary>Every pair, in README's order.</summary>
    public static IReadOnlyList<PairSpec> All { get; } = Build();

    private static List<PairSpec> Build()
    {
        var pairs = new List<PairSpec>();
        Type step = typeof(TrainingStepBenchmarks);
        pairs.Add(new("TrainingStep", "Training step (tutorial)", step,
            nameof(TrainingStepBenchmarks.AutogradKit), nameof(TrainingStepBenchmarks.RawTorchSharp), true, "training_step", 1.03, 1.00));
        pairs.Add(new("ForwardBackward", "  ↳ forward + Backward", step,
            nameof(TrainingStepBenchmarks.ForwardBackward_AutogradKit), nameof(TrainingStepBenchmarks.ForwardBackward_Raw), true, null, 1.03, null));
        pairs.Add(new("ZeroGrad", "  ↳ ZeroGrad ×2 vs grad.zero_() ×2", step,
            nameof(TrainingStepBenchmarks.ZeroGrad_AutogradKit), nameof(TrainingStepBenchmarks.ZeroGrad_Raw), true, null, 1.00, null));
        Type scopes = typeof(ScopeBenchmarks);
        pairs.Add(new("NoGrad", "NoGrad scope enter+exit", scopes,
            nameof(ScopeBenchmarks.NoGrad_AutogradKit), nameof(ScopeBenchmarks.NoGrad_Raw), true, "no_grad_scope", null, 0.50));
        pairs.Add(new("EnableGrad", "EnableGrad scope enter+exit", scopes,
            nameof(ScopeBenchmarks.EnableGrad_AutogradKit), nameof(ScopeBenchmarks.EnableGrad_Raw), true, "enable_grad_scope", null, 0.50));
        pairs.Add(new("InferenceMode", "InferenceMode scope enter+exit", scopes,
            nameof(ScopeBenchmarks.InferenceMode_AutogradKit), nameof(ScopeBenchmarks.InferenceMode_Raw), true, "inference_mode_scope", null, 0.50));
        pairs.Add(new("IsGradEnabled", "IsGradEnabled", typeof(ScopeBenchmarks),
            nameof(ScopeBenchmarks.IsGradEnabled_AutogradKit), nameof(ScopeBenchmarks.IsGradEnabled_Raw), true, null, 1.03, null));
        // TorchSharp's ToString is not PyTorch's text: only a scale. The target is against PyTorch's repr.
        pairs.Add(new("Repr30", "Repr 30×30 float32", typeof(ReprBenchmarks),
            nameof(ReprBenchmarks.Small_AutogradKit), nameof(ReprBenchmarks.Small_RawToString), false, "repr_30x30", null, 0.10));
        // One Grad call: no target of its own (issue 10 asks for its cost before and after libtorch's grad).
        pairs.Add(new("Grad", "Grad of sum∘f, 64 (one call)", typeof(GradBenchmarks),
            nameof(GradBenchmarks.Grad_AutogradKit), nameof(GradBenchmarks.GradByBackward_Raw), true, "grad_64", null, null));
        Type functional = typeof(FunctionalBenchmarks);
        pairs.Add(new("Jacobian", "Jacobian 64→64 (loop)", functional,
            nameof(FunctionalBenchmarks.Jacobian_AutogradKit), nameof(FunctionalBenchmarks.JacobianBackwardLoop_Raw), true, "jacobian_64", 1.03, 0.90));
        pairs.Add(new("JacobianVectorize", "Jacobian 64→64 vectorize", functional,
            nameof(FunctionalBenchmarks.JacobianVectorized_AutogradKit), nameof(FunctionalBenchmarks.JacobianBatched_Raw), true, "jacobian_64_vectorize", 1.03, 0.50));
        pairs.Add(new("JacobianVectorizeOwnIdentity", "  ↳ vectorize vs raw building its identity in the call", functional,
            nameof(FunctionalBenchmarks.JacobianVectorized_AutogradKit), nameof(FunctionalBenchmarks.JacobianBatchedOwnIdentity_Raw), true, null, 1.03, null));
        pairs.Add(new("Hessian", "Hessian of sum∘f, 64 (loop)", functional,
            nameof(FunctionalBenchmarks.Hessian_AutogradKit), nameof(FunctionalBenchmarks.HessianBackwardLoop_Raw), true, "hessian_64", 1.03, null));
        pairs.Add(new("Jvp", "Functional.Jvp 64→64", typeof(JvpBenchmarks),
            nameof(JvpBenchmarks.Jvp_AutogradKit), nameof(JvpBenchmarks.JvpDoubleBackward_Raw), true, "jvp_64", null, 0.60));
        // Issue 11: per-sample gradients ≥ 10× faster than a loop of Grad and ≤ 0.5× functorch's vmap(grad); Vmap around a
        // cheap elementwise operation ≤ 2× the operation alone.
        pairs.Add(new("PerSample", "Per-sample grads, 32→64→10 MLP, batch 64: Vmap(Grad) vs a loop of Grad", typeof(PerSampleGradientBenchmarks),
            nameof(PerSampleGradientBenchmarks.PerSample_VmapGrad), nameof(PerSampleGradientBenchmarks.PerSample_LoopOfGrad), true, "per_sample_vmap_grad", 0.10, 0.50));
        // Not a target: the same per-sample gradients with the loss written without nll_loss (no batching rule in
        // libtorch 2.10); the raw column is the cross_entropy version, so Kit ÷ raw is what the per-example fallback costs.
        pairs.Add(new("PerSampleGather", "  ↳ loss as -log_softmax(z)[y] vs cross_entropy (both Vmap(Grad))", typeof(PerSampleGradientBenchmarks),
            nameof(PerSampleGradientBenchmarks.PerSample_VmapGrad_Gather), nameof(PerSampleGradientBenchmarks.PerSample_VmapGrad), false, "per_sample_vmap_grad_gather", null, 0.50));
        pairs.Add(new("VmapOverhead", "Vmap(sin) of 64×64 vs sin", typeof(VmapOverheadBenchmarks),
            nameof(VmapOverheadBenchmarks.Vmap_Sin), nameof(VmapOverheadBenchmarks.Sin_NoVmap), true, "vmap_sin_64", 2.00, null));
        // Issue 13: checkpointing may cost at most half a step more than the plain step it replaces.
        pairs.Add(new("Checkpoint32", "Checkpoint: 32×1024 MLP step, CheckpointSequential(8) vs plain", typeof(CheckpointBenchmarks),
            nameof(CheckpointBenchmarks.CheckpointSequential), nameof(CheckpointBenchmarks.Plain), false, null, 1.50, null));
        return pairs;
    }
}
