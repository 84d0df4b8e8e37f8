using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Misuse;

/// <summary>
/// The wrong calls. Each case builds what it needs from the random source (shapes, dtypes, which mistake), makes
/// the call, and where docs/api.md names the exception, checks it with <see cref="Expect{T}"/>. Tensors are created
/// inside the runner's dispose scope. Cases that open scopes or register hooks undo them in finally blocks.
/// </summary>
internal static partial class MisuseCases
{
    private static readonly long[][] Shapes = [[], [1], [3], [2, 3], [4], [0], [2, 0, 3]];
    private static readonly ScalarType[] FloatTypes = [ScalarType.Float32, ScalarType.Float64];
    private static readonly ScalarType[] AnyTypes =
        [ScalarType.Float32, ScalarType.Float64, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64,
         ScalarType.Int32, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool, ScalarType.ComplexFloat32];
    private static readonly ScalarType[] IntTypes = [ScalarType.Int64, ScalarType.Int32, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool];

    public static IReadOnlyList<MisuseCase> All()
    {
        var cases = new List<MisuseCase>();
        void Add(string name, Action<Random> run) => cases.Add(new MisuseCase(name, run));

        // ---- Backward ----------------------------------------------------------------------------------
        Add("Backward of a tensor that does not require grad", r =>
            Expect<NoGradFnException>(() => RandomTensor(r, FloatTypes, requiresGrad: false).sum().Backward()));
        Add("Backward of a non-scalar without a gradient", r =>
        {
            Tensor y = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [2, 3]) * 2;
            Expect<NonScalarOutputException>(() => y.Backward());
        });
        Add("Backward with a gradient of the wrong shape", r =>
        {
            Tensor y = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]) * 2;
            Expect<GradientShapeException>(() => y.Backward(torch.ones(4 + r.Next(3))));
        });
        Add("Backward with a gradient of another dtype", r =>
        {
            Tensor y = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]) * 2;
            y.Backward(torch.ones(3, dtype: Pick(r, AnyTypes)));
        });
        Add("Backward through a freed graph", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = (x * x).sum();
            y.Backward(retainGraph: r.Next(2) == 0);
            y.Backward();
            Expect<GraphFreedException>(() => y.Backward());
        });
        Add("Backward of a disposed tensor", r =>
        {
            Tensor y = (RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]) * 2).sum();
            y.Dispose();
            y.Backward();
        });
        Add("Backward with a disposed gradient", r =>
        {
            Tensor y = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]) * 2;
            Tensor g = torch.ones(3);
            g.Dispose();
            y.Backward(g);
        });
        Add("Backward of an integer tensor", r => torch.ones(3, dtype: Pick(r, IntTypes)).sum().Backward());
        Add("Backward of a random tensor with a random gradient", r =>
        {
            Tensor y = RandomTensor(r, AnyTypes, requiresGrad: r.Next(2) == 0);
            Tensor? g = r.Next(3) == 0 ? null : RandomTensor(r, AnyTypes, requiresGrad: false);
            y.Backward(g, retainGraph: r.Next(2) == 0, createGraph: r.Next(2) == 0);
        });
        Add("Backward twice with createGraph, then of the gradient", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = (x * x * x).sum();
            y.Backward(createGraph: true);
            Tensor g = x.grad!;
            new[] { x }.ZeroGrad(setToNone: true);
            g.sum().Backward();
        });

        // ---- ZeroGrad, Detach, RequiresGrad, RetainGrad ------------------------------------------------------
        Add("ZeroGrad of a disposed tensor", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true);
            x.Dispose();
            if (r.Next(2) == 0)
            {
                x.ZeroGrad();
            }
            else
            {
                new[] { x }.ZeroGrad(setToNone: r.Next(2) == 0);
            }
        });
        Add("ZeroGrad without a gradient", r => RandomTensor(r, AnyTypes, requiresGrad: false).ZeroGrad());
        Add("ZeroGrad of a list holding null or disposed tensors", r =>
        {
            Tensor a = RandomTensor(r, FloatTypes, requiresGrad: true);
            Tensor b = RandomTensor(r, FloatTypes, requiresGrad: true);
            if (r.Next(2) == 0)
            {
                b.Dispose();
                new[] { a, b }.ZeroGrad(setToNone: r.Next(2) == 0);
            }
            else
            {
                new[] { a, null! }.ZeroGrad(setToNone: r.Next(2) == 0);
            }
        });
        Add("ZeroGrad of a null list", r => ((IEnumerable<Tensor>)null!).ZeroGrad(setToNone: r.Next(2) == 0));
        Add("RequiresGrad on an integer tensor", r => torch.ones(3, dtype: Pick(r, IntTypes)).RequiresGrad());
        Add("RequiresGrad(false) on a non-leaf", r =>
            Expect<AutogradException>(() => (RandomTensor(r, FloatTypes, requiresGrad: true) * 2).RequiresGrad(false)));
        Add("RequiresGrad on a random or disposed tensor", r =>
        {
            Tensor t = RandomTensor(r, AnyTypes, requiresGrad: false);
            if (r.Next(3) == 0)
            {
                t.Dispose();
            }
            t.RequiresGrad(r.Next(2) == 0);
        });
        Add("RetainGrad on a tensor that does not require grad", r => RandomTensor(r, AnyTypes, requiresGrad: false).RetainGrad());
        Add("RetainGrad on a disposed tensor", r =>
        {
            Tensor y = RandomTensor(r, FloatTypes, requiresGrad: true) * 2;
            y.Dispose();
            y.RetainGrad();
        });
        Add("Detach of a disposed tensor", r =>
        {
            Tensor t = RandomTensor(r, AnyTypes, requiresGrad: false);
            t.Dispose();
            t.Detach();
        });

        // ---- Grad-mode scopes ------------------------------------------------------------------------------
        Add("scope disposed twice", r =>
        {
            IDisposable s = OpenRandomScope(r);
            s.Dispose();
            s.Dispose();
        });
        Add("scope disposed on a thread outside its flow", r =>
        {
            IDisposable s = OpenRandomScope(r, gradOnly: true);
            bool modeHere = Autograd.IsGradEnabled;
            Exception? thrown = null;
            bool otherBefore = false, otherAfter = false;
            try
            {
                // UnsafeStart: the thread does not inherit this flow, so the scope is not open there.
                var thread = new Thread(() =>
                {
                    otherBefore = Autograd.IsGradEnabled;
                    try
                    {
                        s.Dispose();
                    }
                    catch (Exception e)
                    {
                        thrown = e;
                    }
                    otherAfter = Autograd.IsGradEnabled;
                });
                thread.UnsafeStart();
                thread.Join();
                Require(Autograd.IsGradEnabled == modeHere, "the opening thread's mode changed");
                Require(otherBefore == otherAfter, "the disposing thread's mode changed");
            }
            finally
            {
                s.Dispose();
            }
            Require(thrown is InvalidOperationException, $"disposing outside its flow threw {thrown?.GetType().Name ?? "nothing"}, docs/api.md says InvalidOperationException");
        });
        Add("scope disposed on a thread started inside it", r =>
        {
            IDisposable s = OpenRandomScope(r);
            bool modeHere = Autograd.IsGradEnabled;
            bool otherAfter = false;
            try
            {
                // Start: the thread inherits the flow; disposing there ends the scope for that thread's flow only.
                var thread = new Thread(() =>
                {
                    s.Dispose();
                    otherAfter = Autograd.IsGradEnabled && !Autograd.IsInferenceModeEnabled;
                });
                thread.Start();
                thread.Join();
                Require(Autograd.IsGradEnabled == modeHere, "the opening flow's mode changed");
                Require(otherAfter, "the disposing thread did not get its own mode back");
            }
            finally
            {
                s.Dispose();
            }
        });
        Add("scopes disposed out of nesting order", r =>
        {
            IDisposable outer = OpenRandomScope(r);
            IDisposable inner = OpenRandomScope(r);
            bool innerMode = Autograd.IsGradEnabled;
            try
            {
                ExpectAndContinue<InvalidOperationException>(outer.Dispose);
                Require(Autograd.IsGradEnabled == innerMode, "a refused Dispose changed the grad mode");
            }
            finally
            {
                inner.Dispose();
                outer.Dispose();
            }
        });
        Add("random scope nesting with mistakes", r => RandomNesting(r));
        Add("DetectAnomaly and a backward that makes nan", r =>
        {
            using (Autograd.DetectAnomaly(checkNan: true))
            {
                Tensor x = torch.zeros(3, dtype: Pick(r, FloatTypes)).RequiresGrad();
                Tensor y = (x / x).sum();
                Expect<AutogradException>(() => y.Backward());
            }
        });
        Add("inference tensor asked for gradients or backward", r =>
        {
            Tensor t;
            using (Autograd.InferenceMode())
            {
                t = RandomTensor(r, FloatTypes, requiresGrad: false, shape: [3]);
            }
            switch (r.Next(3))
            {
                case 0: t.RequiresGrad(); break;
                case 1: t.Backward(torch.ones(3)); break;
                default: t.RetainGrad(); break;
            }
        });

        // ---- GradFn ----------------------------------------------------------------------------------------
        Add("GradFn of a disposed tensor", r =>
        {
            Tensor y = RandomTensor(r, FloatTypes, requiresGrad: true) * 2;
            y.Dispose();
            Expect<ObjectDisposedException>(() => _ = y.GradFn);
        });
        Add("GradFn used after its tensor was disposed", r =>
        {
            Tensor y = (RandomTensor(r, FloatTypes, requiresGrad: true) * 2).sum();
            GradFn fn = y.GradFn!;
            y.Dispose();
            switch (r.Next(4))
            {
                case 0: Expect<ObjectDisposedException>(() => _ = fn.Name); break;
                case 1: Expect<ObjectDisposedException>(() => _ = fn.NextFunctions); break;
                case 2: Expect<ObjectDisposedException>(() => _ = fn.Variable); break;
                default: Expect<ObjectDisposedException>(() => _ = fn.ToString()); break;
            }
        });
        Add("GradFn walked after the graph was freed", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = (x.exp() * 2).sum();
            GradFn fn = y.GradFn!;
            y.Backward();
            Walk(fn);
            x.Dispose();
            Walk(fn);
        });
        Add("GradFn of a leaf, an integer tensor, an inference tensor", r =>
        {
            Tensor t = RandomTensor(r, AnyTypes, requiresGrad: false);
            Require(t.GradFn is null, "GradFn of a tensor without grad_fn is not null");
        });
        Add("GradFn node of a child edge outliving everything", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = (x * 3).sum();
            GradFn? child = y.GradFn!.NextFunctions[0].Function;
            y.Dispose();
            x.Dispose();
            if (child is not null)
            {
                _ = child.Name;
            }
        });
        Add("AutogradGraph.ToDot of a disposed, leaf or named tensor", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = (x * 2).sum();
            switch (r.Next(3))
            {
                case 0: y.Dispose(); AutogradGraph.ToDot(y); break;
                case 1: AutogradGraph.ToDot(x); break;
                default:
                    var names = new Dictionary<string, Tensor> { ["x"] = x };
                    if (r.Next(2) == 0)
                    {
                        x.Dispose();
                    }
                    AutogradGraph.ToDot(y, names);
                    break;
            }
        });

        // ---- Repr ------------------------------------------------------------------------------------------
        Add("Repr of a random tensor", r => _ = RandomTensor(r, AnyTypes, requiresGrad: false).Repr());
        Add("Repr of a disposed tensor", r =>
        {
            Tensor t = RandomTensor(r, AnyTypes, requiresGrad: false);
            t.Dispose();
            _ = t.Repr();
        });
        Add("Repr with out-of-range options", r =>
        {
            var options = new ReprOptions(
                Precision: r.Next(-3, 20), Threshold: r.Next(-5, 50), EdgeItems: r.Next(-2, 5),
                LineWidth: r.Next(-10, 100), SciMode: r.Next(3) switch { 0 => null, 1 => true, _ => false });
            _ = RandomTensor(r, AnyTypes, requiresGrad: false, shape: [r.Next(0, 60)]).Repr(options);
        });
        Add("Repr of special values", r =>
        {
            Tensor t = torch.tensor(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1e-30f, 3e38f });
            _ = (r.Next(2) == 0 ? t : t.to(Pick(r, AnyTypes))).Repr();
        });

        Add("Repr of a complex, meta or high-precision tensor", r =>
        {
            Tensor t = r.Next(3) switch
            {
                0 => torch.randn(r.Next(0, 5), r.Next(1, 4), dtype: r.Next(2) == 0 ? ScalarType.ComplexFloat32 : ScalarType.ComplexFloat64),
                1 => torch.empty(Pick(r, Shapes), dtype: Pick(r, AnyTypes), device: torch.META),
                _ => torch.randn(r.Next(1, 4)) * Math.Pow(10, r.Next(-300, 300)),
            };
            _ = t.Repr(new ReprOptions(Precision: r.Next(0, 25), SciMode: r.Next(2) == 0));
        });
        Add("Repr with a precision PyTorch cannot format", r =>
            Expect<ArgumentOutOfRangeException>(() => _ = new ReprOptions(Precision: r.Next(2) == 0 ? int.MaxValue : ReprOptions.MaxPrecision + 1 + r.Next(1000))));
        // A view made in no-grad or inference mode whose base was then modified in place: libtorch's grad_fn() throws
        // from C++, which through a direct call would end the process. PyTorch raises from grad_fn, and since 2.1 its
        // repr prints grad_fn=<Invalid>.
        Add("GradFn and Repr of a no-grad or inference-mode view whose base was modified in place", r =>
        {
            Tensor w = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [4]);
            Tensor b = w * 1;
            Tensor view;
            if (r.Next(2) == 0)
            {
                using (Autograd.NoGrad())
                {
                    view = b[TensorIndex.Slice(0, 2)];
                }
            }
            else
            {
                using (Autograd.InferenceMode())
                {
                    view = b[TensorIndex.Slice(0, 2)];
                }
            }
            using (r.Next(2) == 0 ? Autograd.NoGrad() : Autograd.EnableGrad())
            {
                b.mul_(2);
            }
            if (r.Next(2) == 0)
            {
                Expect<AutogradException>(() => _ = view.GradFn);
            }
            else
            {
                Require(view.Repr().EndsWith("grad_fn=<Invalid>)", StringComparison.Ordinal), $"Repr of the invalid view is {view.Repr()}");
            }
        });

        // ---- Fine-tuning -----------------------------------------------------------------------------------
        Add("Unfreeze of a module with an integer parameter", r =>
        {
            var module = torch.nn.Linear(2, 2);
            try
            {
                module.Freeze();
                module.register_parameter("steps", new TorchSharp.Modules.Parameter(torch.zeros(1, dtype: Pick(r, IntTypes)), requires_grad: false));
                Expect<AutogradException>(() => module.Unfreeze());
                Require(module.parameters().All(p => !p.requires_grad), "a failed Unfreeze changed a parameter");
            }
            finally
            {
                module.Dispose();
            }
        });

        // ---- Autograd.Grad ---------------------------------------------------------------------------------
        Add("Grad with an unused input", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor unused = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [2]);
            Tensor y = (x * x).sum();
            if (r.Next(2) == 0)
            {
                Expect<UnusedInputException>(() => Autograd.Grad([y], [x, unused]));
            }
            else
            {
                Tensor?[] g = Autograd.Grad([y], [x, unused], allowUnused: true);
                Require(g[1] is null && g[0] is not null, "allowUnused: null only for the unused input");
            }
        });
        Add("Grad through a freed graph", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = (x * x).sum();
            Autograd.Grad([y], [x]);
            Expect<GraphFreedException>(() => Autograd.Grad([y], [x]));
        });
        Add("Grad of a non-scalar output without gradOutputs", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [2, 3]);
            Expect<NonScalarOutputException>(() => Autograd.Grad([x * 2], [x]));
        });
        Add("Grad with gradOutputs of the wrong shape or count", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = x * 2;
            if (r.Next(2) == 0)
            {
                Expect<GradientShapeException>(() => Autograd.Grad([y], [x], [torch.ones(5)]));
            }
            else
            {
                Expect<ArgumentException>(() => Autograd.Grad([y], [x], [torch.ones(3), torch.ones(3)]));
            }
        });
        Add("Grad of an output that does not require grad", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor c = RandomTensor(r, FloatTypes, requiresGrad: false, shape: []);
            Expect<NoGradFnException>(() => Autograd.Grad([c], [x]));
        });
        Add("Grad with inputs that do not require grad or are integers", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor other = RandomTensor(r, AnyTypes, requiresGrad: false);
            Autograd.Grad([(x * 2).sum()], [x, other], allowUnused: r.Next(2) == 0);
        });
        Add("Grad with empty, null or disposed arguments", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = (x * 2).sum();
            switch (r.Next(5))
            {
                case 0: Autograd.Grad([y], []); break;
                case 1: Autograd.Grad([], [x]); break;
                case 2: Autograd.Grad(null!, [x]); break;
                case 3: Autograd.Grad([y], [null!]); break;
                default: x.Dispose(); Autograd.Grad([y], [x]); break;
            }
        });
        Add("Grad with random arguments", r =>
        {
            Tensor x = RandomTensor(r, AnyTypes, requiresGrad: r.Next(2) == 0);
            Tensor y = r.Next(2) == 0 && x.requires_grad ? (x * 2) : RandomTensor(r, AnyTypes, requiresGrad: r.Next(2) == 0);
            Tensor[]? go = r.Next(2) == 0 ? null : [RandomTensor(r, AnyTypes, requiresGrad: false)];
            Autograd.Grad([y], [x], go, retainGraph: r.Next(3) switch { 0 => null, 1 => true, _ => false },
                createGraph: r.Next(2) == 0, allowUnused: r.Next(2) == 0);
        });

        Add("Grad with batched gradOutputs of the wrong shape, size or rank", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = x * x;
            switch (r.Next(6))
            {
                case 0: Expect<GradientShapeException>(() => Autograd.Grad([y], [x], [torch.ones(2, 4)], isGradsBatched: true)); break;
                case 1: Expect<ArgumentException>(() => Autograd.Grad([y, y], [x], [torch.ones(2, 3), torch.ones(3, 3)], isGradsBatched: true)); break;
                case 2: Expect<ArgumentException>(() => Autograd.Grad([y.sum()], [x], isGradsBatched: true)); break;
                case 3: Expect<ArgumentException>(() => Autograd.Grad([y], [x], [torch.ones(0, 3)], isGradsBatched: true)); break;
                case 4: Expect<ArgumentException>(() => Autograd.Grad([y.sum()], [x], [torch.tensor(1.0f)], isGradsBatched: true)); break;
                default:
                    Autograd.Grad([y], [x, RandomTensor(r, FloatTypes, requiresGrad: true)], [RandomTensor(r, AnyTypes, requiresGrad: false, shape: [2, 3])],
                        retainGraph: r.Next(2) == 0, createGraph: r.Next(2) == 0, allowUnused: r.Next(2) == 0, isGradsBatched: true, materializeGrads: r.Next(2) == 0);
                    break;
            }
        });
        Add("Grad with materializeGrads and random inputs", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true);
            Tensor other = RandomTensor(r, AnyTypes, requiresGrad: r.Next(2) == 0);
            Tensor?[] g = Autograd.Grad([(x * 2).sum()], [x, other], createGraph: r.Next(2) == 0, materializeGrads: true);
            Require(g[1] is { requires_grad: true }, "materializeGrads: zeros that require grad for the unused input");
        });
        Add("Grad through a tensor hook that throws, on the graph or re-entering Grad", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor h = x * 2;
            int mode = r.Next(3);
            using IDisposable hook = h.RegisterHook(g => mode switch
            {
                0 => throw new InvalidOperationException("user hook failed"),
                // A Grad inside the pass, on a graph already freed: its GraphFreedException is the hook's exception.
                1 => Autograd.Grad([(h * 3).sum()], [x])[0],
                _ => Autograd.Grad([(x * 5).sum()], [x])[0]!.expand_as(g) + g,
            });
            Tensor y = (h * h).sum();
            if (mode == 1)
            {
                Autograd.Grad([y], [x], retainGraph: true);
            }
            Autograd.Grad([y], [x], createGraph: r.Next(2) == 0);
        });
        Add("Grad inside NoGrad or InferenceMode, or of an inference tensor", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = (x * x).sum();
            switch (r.Next(3))
            {
                case 0:
                    using (Autograd.NoGrad())
                    {
                        Autograd.Grad([y], [x], createGraph: r.Next(2) == 0);
                    }
                    break;
                case 1:
                    using (Autograd.InferenceMode())
                    {
                        Autograd.Grad([y], [x], createGraph: r.Next(2) == 0);
                    }
                    break;
                default:
                    Tensor t;
                    using (Autograd.InferenceMode())
                    {
                        t = torch.ones(3);
                    }
                    Expect<AutogradException>(() => Autograd.Grad([(x * 2).sum()], [x, t], allowUnused: true));
                    break;
            }
        });

        // ---- Autograd.Functional ---------------------------------------------------------------------------
        Add("Jacobian of a function returning null or throwing", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: false, shape: [3]);
            if (r.Next(2) == 0)
            {
                Autograd.Functional.Jacobian(_ => null!, x, vectorize: r.Next(2) == 0);
            }
            else
            {
                Autograd.Functional.Jacobian(_ => throw new InvalidOperationException("user function failed"), x);
            }
        });
        Add("Jacobian of a function independent of its input", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: false, shape: [3]);
            Tensor c = torch.ones(2);
            Autograd.Functional.Jacobian(_ => c * 2, x, strict: r.Next(2) == 0, vectorize: r.Next(2) == 0);
        });
        Add("Jacobian vectorized over a function that ignores the batch", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: false, shape: [3]);
            Tensor j = Autograd.Functional.Jacobian(v => v.sum(), x, vectorize: true);
            Require(j.allclose(torch.ones_like(x)), "the vectorized Jacobian of a sum is not ones");
        });
        Add("Jacobian vectorized over one function whose output size changes between calls", r =>
        {
            s_sizeShiftMode = r.Next(4);
            Tensor x = torch.tensor(new[] { 0.5, -1.0, 2.0, 4.0 });
            Tensor j = Autograd.Functional.Jacobian(SizeShifting, x, vectorize: true);
            Tensor loop = Autograd.Functional.Jacobian(SizeShifting, x);
            if (!j.shape.SequenceEqual(loop.shape) || !j.allclose(loop, rtol: 0, atol: 0))
            {
                throw new ContractViolation($"vectorized Jacobian (mode {s_sizeShiftMode}) differs from the loop: shape [{string.Join(", ", j.shape)}]");
            }
        });
        Add("Jacobian of a random or disposed input", r =>
        {
            Tensor x = RandomTensor(r, AnyTypes, requiresGrad: r.Next(2) == 0);
            if (r.Next(4) == 0)
            {
                x.Dispose();
            }
            Autograd.Functional.Jacobian(v => v * 2, x, createGraph: r.Next(2) == 0, strict: r.Next(2) == 0, vectorize: r.Next(2) == 0);
        });
        Add("Hessian of a non-scalar or independent function", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: false, shape: [3]);
            switch (r.Next(3))
            {
                case 0: Autograd.Functional.Hessian(v => v * v, x); break;
                case 1: Autograd.Functional.Hessian(v => v.sum(), x, strict: r.Next(2) == 0); break;
                default: Autograd.Functional.Hessian(_ => torch.ones(1).sum(), x, strict: true); break;
            }
        });
        Add("Vjp, Jvp, Hvp and Vhp with vectors of the wrong shape", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: false, shape: [3]);
            Tensor v = RandomTensor(r, AnyTypes, requiresGrad: false);
            switch (r.Next(4))
            {
                case 0: Autograd.Functional.Vjp(t => t * t, x, v); break;
                case 1: Autograd.Functional.Jvp(t => t * t, x, v); break;
                case 2: Autograd.Functional.Hvp(t => (t * t).sum(), x, v); break;
                default: Autograd.Functional.Vhp(t => (t * t).sum(), x, v); break;
            }
        });
        Add("Tuple-output Jacobian, Vjp and Jvp with wrong vectors, null or disposed outputs, random inputs", r =>
        {
            Tensor x = RandomTensor(r, AnyTypes, requiresGrad: false);
            Tensor y = RandomTensor(r, FloatTypes, requiresGrad: false, shape: [2]);
            Tensor v = RandomTensor(r, AnyTypes, requiresGrad: false);
            Func<Tensor[], Tensor[]> f = r.Next(4) switch
            {
                0 => xs => [xs[0] * 2, null!],
                1 => xs => { Tensor t = xs[0] * 2; t.Dispose(); return [t, xs[1]]; }
                ,
                2 => xs => [xs[0].sum() * xs[1], xs[1].exp()],
                _ => xs => [xs[0] * xs[0], (xs[1] * 3).sum()],
            };
            bool createGraph = r.Next(2) == 0, strict = r.Next(2) == 0;
            switch (r.Next(4))
            {
                case 0: Autograd.Functional.Jacobian(f, [x, y], createGraph, strict, strategy: (JacobianStrategy)r.Next(2)); break;
                case 1: Autograd.Functional.Vjp(f, [x, y], r.Next(2) == 0 ? [v] : [v, y], createGraph, strict); break;
                case 2: Autograd.Functional.Jvp(f, [x, y], r.Next(2) == 0 ? [v, y] : null, createGraph, strict); break;
                default: Autograd.Functional.Hessian((Tensor[] xs) => f(xs)[0], [x, y], createGraph, strict, outerJacobianStrategy: (JacobianStrategy)r.Next(2)); break;
            }
        });
        Add("GradCheck and GradGradCheck of several outputs, stride-0 inputs, wrong gradOutputs", r =>
        {
            Tensor x = RandomTensor(r, AnyTypes, requiresGrad: false);
            if (x.is_floating_point() && r.Next(2) == 0)
            {
                x.requires_grad_(true);
            }
            Tensor e = torch.rand(1, dtype: ScalarType.Float64).RequiresGrad().expand(3);
            Tensor go = RandomTensor(r, AnyTypes, requiresGrad: r.Next(2) == 0);
            switch (r.Next(4))
            {
                case 0: Autograd.GradCheck(a => [a[0] * 2, a[0].sum()], [x], raiseException: r.Next(2) == 0); break;
                case 1: Autograd.GradCheck(a => a[0] * 2, [e]); break;
                case 2: Autograd.GradGradCheck(a => a[0].pow(3), [x], [go], raiseException: r.Next(2) == 0); break;
                default: Autograd.GradGradCheck(a => [a[0] * a[0], a[0].exp()], [x], r.Next(2) == 0 ? null : [go]); break;
            }
        });
        Add("GradCheck of a wrong gradient, float32 inputs, bad arguments", r =>
        {
            Tensor x = torch.rand(3, dtype: Pick(r, FloatTypes)).RequiresGrad();
            switch (r.Next(3))
            {
                case 0:
                    Autograd.GradCheck(a => (a[0].detach() * a[0]).sum(), [x], raiseException: r.Next(2) == 0);
                    break;
                case 1: Autograd.GradCheck(a => a[0].sum(), [x], eps: -1); break;
                default: Autograd.GradCheck(_ => (Tensor)null!, [x]); break;
            }
        });
        Add("Freeze and Unfreeze of null", r =>
        {
            if (r.Next(2) == 0)
            {
                ((IEnumerable<TorchSharp.Modules.Parameter>)null!).Freeze();
            }
            else
            {
                ((nn.Module)null!).Unfreeze();
            }
        });

        // ---- Hooks -----------------------------------------------------------------------------------------
        Add("RegisterHook on a tensor that does not require grad or is disposed", r =>
        {
            Tensor t = RandomTensor(r, AnyTypes, requiresGrad: false);
            if (r.Next(2) == 0)
            {
                t.Dispose();
            }
            using IDisposable h = t.RegisterHook(g => g);
        });
        Add("hook returning the wrong shape or dtype", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = x * 2;
            using IDisposable h = y.RegisterHook(_ => RandomTensor(r, AnyTypes, requiresGrad: false));
            y.sum().Backward();
        });
        Add("hook throwing", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            using IDisposable h = x.RegisterHook(_ => throw new InvalidOperationException("user hook failed"));
            (x * 2).sum().Backward();
        });
        Add("hook handle disposed twice, after its tensor, or reused", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor z = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Func<Tensor, Tensor?> hook = g => g * 2;
            IDisposable h1 = x.RegisterHook(hook);
            IDisposable h2 = z.RegisterHook(hook);
            (x * z).sum().Backward();
            if (r.Next(2) == 0)
            {
                x.Dispose();
            }
            h1.Dispose();
            h1.Dispose();
            z.Dispose();
            h2.Dispose();
        });
        Add("hook that registers hooks and removes itself", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            IDisposable? self = null;
            var inner = new List<IDisposable>();
            self = x.RegisterHook(g =>
            {
                inner.Add(x.RegisterHook(h => h));
                self?.Dispose();
                return null;
            });
            try
            {
                (x * 2).sum().Backward();
            }
            finally
            {
                self.Dispose();
                inner.ForEach(i => i.Dispose());
            }
        });
        Add("hook handle disposed after an in-place op, detach_ or requires_grad changes replaced the hook list", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            IDisposable h = x.RegisterHook(g => g * 2);
            x.RequiresGrad(false);
            if (r.Next(2) == 0)
            {
                x.mul_(torch.ones(3, dtype: x.dtype).RequiresGrad());
            }
            if (r.Next(2) == 0)
            {
                x.detach_();
            }
            h.Dispose();
            h.Dispose();
        });
        Add("hook registered inside inference mode or no-grad", r =>
        {
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            IDisposable h;
            using (r.Next(2) == 0 ? Autograd.InferenceMode() : Autograd.NoGrad())
            {
                h = x.RegisterHook(g => g * 2);
            }
            using (h)
            {
                (x * x).sum().Backward();
            }
        });

        // ---- Forward-mode AD -------------------------------------------------------------------------------
        Add("ForwardAD: a second dual level while one is open, disposed in any order and on any thread", r =>
        {
            IDisposable level = Autograd.ForwardAD.DualLevel();
            try
            {
                Expect<AutogradException>(() => Autograd.ForwardAD.DualLevel());
            }
            finally
            {
                if (r.Next(2) == 0)
                {
                    Task.Run(level.Dispose).Wait();
                }
                level.Dispose();
            }
        });
        Add("ForwardAD: MakeDual of random tensors, inside a level or not", r =>
        {
            IDisposable? level = r.Next(4) == 0 ? null : Autograd.ForwardAD.DualLevel();
            try
            {
                Tensor primal = RandomTensor(r, AnyTypes, requiresGrad: r.Next(2) == 0);
                Tensor tangent = r.Next(3) == 0 ? RandomTensor(r, AnyTypes, requiresGrad: false) : torch.ones_like(primal);
                Tensor dual = Autograd.ForwardAD.MakeDual(r.Next(4) == 0 ? Autograd.ForwardAD.MakeDual(primal, tangent) : primal, tangent);
                _ = Autograd.ForwardAD.UnpackDual((dual * dual).sum()).Tangent;
            }
            finally
            {
                level?.Dispose();
            }
        });
        Add("ForwardAD: an op without a forward derivative, and a dual tensor used after its level closed", r =>
        {
            Tensor dual;
            using (Autograd.ForwardAD.DualLevel())
            {
                dual = Autograd.ForwardAD.MakeDual(torch.eye(3), torch.ones(3, 3));
                ExpectAndContinue<System.Runtime.InteropServices.ExternalException>(() => torch.eye(3).ormqr(torch.ones(3), dual)); // TorchSharp's own op: its own exception type
            }
            Require(Autograd.ForwardAD.UnpackDual(dual.sin()).Tangent is null, "a tangent outlived its level");
        });
        AddCustomFunctionCases(Add);
        AddSavedTensorsCases(Add);
        AddCheckpointCases(Add);
        AddTorchFuncCases(Add);
        AddNodeHookCases(Add);
        return cases;
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    /// <summary>
    /// Rethrows what <paramref name="call"/> throws when it is a <typeparamref name="T"/> (so the outcome table
    /// shows it); throws <see cref="ContractViolation"/> when it succeeds or throws another type.
    /// </summary>
    // Modes 0–2: 2·x[…, :mode + 1] (the output size changes with the mode); mode 3: a sum.
    private static int s_sizeShiftMode;

    private static readonly Func<Tensor, Tensor> SizeShifting = v =>
        s_sizeShiftMode == 3 ? v.sum() : v.narrow(-1, 0, s_sizeShiftMode + 1) * 2;

    private static void Expect<T>(Action call) where T : Exception
    {
        try
        {
            call();
        }
        catch (T)
        {
            throw;
        }
        catch (Exception e) when (MisuseRunner.IsDocumented(e))
        {
            throw new ContractViolation($"threw {e.GetType().Name} ({e.Message.Split('\n')[0]}), docs/api.md says {typeof(T).Name}");
        }
        throw new ContractViolation($"succeeded, docs/api.md says it throws {typeof(T).Name}");
    }

    /// <summary>Like <see cref="Expect{T}"/>, but returns when <typeparamref name="T"/> is thrown.</summary>
    private static void ExpectAndContinue<T>(Action call) where T : Exception
    {
        try
        {
            Expect<T>(call);
        }
        catch (T)
        {
        }
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new ContractViolation(what);
        }
    }

    private static T Pick<T>(Random r, T[] items) => items[r.Next(items.Length)];

    private static Tensor RandomTensor(Random r, ScalarType[] types, bool requiresGrad, long[]? shape = null)
    {
        ScalarType type = Pick(r, types);
        long[] size = shape ?? Pick(r, Shapes);
        Tensor t = torch.is_floating_point(torch.empty(0, dtype: type)) || type == ScalarType.ComplexFloat32
            ? torch.randn(size, dtype: type)
            : torch.randint(0, 5, size, dtype: type == ScalarType.Bool ? ScalarType.Int64 : type).to(type);
        if (requiresGrad && torch.is_floating_point(t))
        {
            t.requires_grad_(true);
        }
        return t;
    }

    private static IDisposable OpenRandomScope(Random r, bool gradOnly = false) => r.Next(gradOnly ? 3 : 5) switch
    {
        0 => Autograd.NoGrad(),
        1 => Autograd.EnableGrad(),
        2 => Autograd.SetGradEnabled(r.Next(2) == 0),
        3 => Autograd.InferenceMode(r.Next(2) == 0),
        _ => Autograd.DetectAnomaly(r.Next(2) == 0),
    };

    // Opens and closes scopes at random, sometimes disposing one that is not innermost (must throw and change
    // nothing) or one already disposed (must do nothing); the grad mode must always be what the open scopes say.
    private static void RandomNesting(Random r)
    {
        var open = new List<(IDisposable Scope, bool Mode)>();
        var closed = new List<IDisposable>();
        try
        {
            for (int step = 0; step < 12; step++)
            {
                int action = r.Next(4);
                if (action <= 1 || open.Count == 0)
                {
                    int kind = r.Next(3);
                    bool mode = kind switch { 0 => false, 1 => true, _ => r.Next(2) == 0 };
                    open.Add((kind switch { 0 => Autograd.NoGrad(), 1 => Autograd.EnableGrad(), _ => Autograd.SetGradEnabled(mode) }, mode));
                }
                else if (action == 2)
                {
                    int i = r.Next(open.Count);
                    if (i == open.Count - 1)
                    {
                        open[i].Scope.Dispose();
                        closed.Add(open[i].Scope);
                        open.RemoveAt(i);
                    }
                    else
                    {
                        ExpectAndContinue<InvalidOperationException>(open[i].Scope.Dispose);
                    }
                }
                else if (closed.Count > 0)
                {
                    closed[r.Next(closed.Count)].Dispose();
                }
                bool expected = open.Count == 0 || open[^1].Mode;
                Require(Autograd.IsGradEnabled == expected, $"grad mode {Autograd.IsGradEnabled}, the open scopes say {expected}");
            }
        }
        finally
        {
            for (int i = open.Count - 1; i >= 0; i--)
            {
                open[i].Scope.Dispose();
            }
        }
    }

    private static int Walk(GradFn root)
    {
        var seen = new HashSet<GradFn>();
        var stack = new Stack<GradFn>([root]);
        while (stack.Count > 0)
        {
            GradFn fn = stack.Pop();
            if (!seen.Add(fn))
            {
                continue;
            }
            _ = fn.Name;
            _ = fn.Variable;
            foreach (GradEdge e in fn.NextFunctions)
            {
                if (e.Function is { } next)
                {
                    stack.Push(next);
                }
            }
        }
        return seen.Count;
    }
}
