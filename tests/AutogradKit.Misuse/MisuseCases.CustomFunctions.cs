using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Misuse;

/// <summary>Wrong custom autograd functions: user code that throws or returns nonsense inside libtorch's engine.</summary>
internal static partial class MisuseCases
{
    /// <summary>What a misbehaving function does, picked at random per call.</summary>
    private enum Fault
    {
        ThrowInForward, ThrowInBackward, ThrowInJvp, TooManyGradients, TooFewGradients, NullGradients, WrongShape,
        WrongDType, DisposedGradient, NullOutput, DisposedOutput, NoOutputs, DirtyNotAnInput, NonDifferentiableNotAnOutput,
        IdentityOutput, SaveDisposed, ReadSavedInForward,
    }

    /// <summary>A custom function that misbehaves as told; <see cref="Thrown"/> is what it threw, if anything.</summary>
    private sealed class Faulty(Fault fault, bool once) : AutogradFunction
    {
        public Exception? Thrown { get; private set; }

        public override string ToString() => $"{fault} once={once}";

        protected override bool OnceDifferentiable => once;

        private Exception Throw() => Thrown = new InvalidOperationException($"user code failed ({fault})");

        protected override Tensor[] Forward(FunctionContext ctx, Tensor[] inputs)
        {
            Tensor x = inputs[0];
            Tensor y = x * 2;
            ctx.SaveForBackward(x);
            switch (fault)
            {
                case Fault.ThrowInForward: throw Throw();
                case Fault.NullOutput: return [null!];
                case Fault.DisposedOutput: y.Dispose(); return [y];
                case Fault.NoOutputs: return [];
                case Fault.DirtyNotAnInput: ctx.MarkDirty(y); break;
                case Fault.NonDifferentiableNotAnOutput: ctx.MarkNonDifferentiable(x * 3); break;
                case Fault.IdentityOutput: return [x];
                case Fault.SaveDisposed:
                    Tensor gone = x * 4;
                    gone.Dispose();
                    ctx.SaveForBackward(gone);
                    break;
                case Fault.ReadSavedInForward: _ = ctx.SavedTensors.Count; break;
            }
            return [y];
        }

        protected override Tensor?[] Backward(FunctionContext ctx, Tensor?[] g)
        {
            Tensor grad = g[0]! * 2;
            return fault switch
            {
                Fault.ThrowInBackward => throw Throw(),
                Fault.TooManyGradients => [grad, grad],
                Fault.TooFewGradients => [],
                Fault.NullGradients => null!,
                Fault.WrongShape => [torch.ones(7, dtype: grad.dtype)],
                Fault.WrongDType => [grad.to(ScalarType.Int64)],
                Fault.DisposedGradient => Disposed(grad),
                _ => [grad * ctx.SavedTensors[0]!.ones_like()],
            };
        }

        protected override Tensor?[] Jvp(FunctionContext ctx, Tensor?[] t) => fault == Fault.ThrowInJvp ? throw Throw() : [t[0]! * 2];

        private static Tensor?[] Disposed(Tensor t)
        {
            t.Dispose();
            return [t];
        }
    }

    private static void AddCustomFunctionCases(Action<string, Action<Random>> add)
    {
        Fault[] faults = Enum.GetValues<Fault>();
        add("Custom function that misbehaves, through Backward, Grad or TorchSharp's own backward", r =>
        {
            var f = new Faulty(Pick(r, faults), once: r.Next(4) == 0);
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: r.Next(5) != 0, shape: [3]);
            int how = r.Next(4);
            try
            {
                Tensor[] outputs = f.Apply(x);
                if (outputs.Length == 0)
                {
                    return;
                }
                Tensor y = outputs[0].sum();
                switch (how)
                {
                    case 0: y.Backward(); break;
                    case 1: Autograd.Grad([y], [x], createGraph: r.Next(2) == 0); break;
                    case 2: y.backward(); break; // TorchSharp's own: its own exception type, never an abort
                    default: Autograd.Grad([(y * y)], [x], createGraph: true)[0]?.sum().Backward(); break;
                }
            }
            catch (Exception e) when (f.Thrown is not null)
            {
                // The user's exception comes back as itself, except through TorchSharp's own backward (libtorch's text).
                Require(ReferenceEquals(e, f.Thrown) || how == 2, $"got {e.GetType().Name} ({e.Message.Split('\n')[0]}) instead of the user's exception");
            }
            catch (System.Runtime.InteropServices.ExternalException) when (how == 2)
            {
            }
            // The next pass through a correct custom function works.
            Tensor z = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            new Faulty(Fault.IdentityOutput, once: false).Apply(z)[0].sum().Backward();
            Require(z.grad is not null, "the next backward did not run");
        });
        add("Custom function without Backward or Jvp, or with a throwing Jvp, inside a dual level", r =>
        {
            var f = new Faulty(Pick(r, [Fault.ThrowInJvp, Fault.IdentityOutput, Fault.ThrowInForward]), once: false);
            using (Autograd.ForwardAD.DualLevel())
            {
                Tensor x = Autograd.ForwardAD.MakeDual(torch.randn(3), torch.randn(3));
                try
                {
                    f.Apply(x);
                }
                catch (Exception e) when (f.Thrown is not null)
                {
                    Require(ReferenceEquals(e, f.Thrown), "the user's exception did not come back as itself");
                }
            }
        });
        add("Custom function: double backward through a freed or once-differentiable node", r =>
        {
            var f = new Faulty(Fault.IdentityOutput, once: r.Next(2) == 0);
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            Tensor y = f.Apply(x)[0].pow(2).sum();
            y.Backward(retainGraph: r.Next(2) == 0, createGraph: r.Next(2) == 0);
            try
            {
                y.Backward();
            }
            catch (AutogradException)
            {
            }
            x.grad?.sum().Backward();
        });
    }
}
