using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

public static partial class TorchFunc
{
    /// <summary>
    /// <c>torch.func.grad(f)</c>: the function computing the gradient of the scalar <paramref name="f"/> at its input.
    /// Composes with the other transforms (<c>Vmap(Grad(f))</c> gives one gradient per example; <c>Grad(Grad(f))</c>
    /// a second derivative).
    /// </summary>
    /// <param name="f">A function returning a tensor with no dimensions.</param>
    /// <returns>The gradient function; it throws <see cref="AutogradException"/> when f's result is not a scalar tensor
    /// (PyTorch's text) or for libtorch's errors.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    /// <example>
    /// <code>
    /// Tensor cos = TorchFunc.Grad(x =&gt; x.sin().sum())(x);
    /// </code>
    /// </example>
    public static Func<Tensor, Tensor> Grad(Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return x => GradAndValueCore(a => f(a[0]), [x ?? throw new ArgumentNullException(nameof(x))], 0).Grad;
    }

    /// <summary><c>torch.func.grad(f, argnums=argnum)</c> for a function of several tensors: the gradient with respect to input <paramref name="argnum"/>.</summary>
    /// <param name="f">A function returning a tensor with no dimensions.</param>
    /// <param name="argnum">Which input to differentiate with respect to (negative counts from the end).</param>
    /// <returns>The gradient function (errors as for the one-input overload; an <see cref="ArgumentException"/> when
    /// <paramref name="argnum"/> does not name an input).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    public static Func<Tensor[], Tensor> Grad(Func<Tensor[], Tensor> f, int argnum = 0)
    {
        ArgumentNullException.ThrowIfNull(f);
        return args => GradAndValueCore(f, args, argnum).Grad;
    }

    /// <summary><c>torch.func.grad_and_value(f)</c>: the gradient and the value of <paramref name="f"/>, from one evaluation.</summary>
    /// <param name="f">A function returning a tensor with no dimensions.</param>
    /// <returns>The function giving <c>(Grad, Value)</c> (errors as for <see cref="Grad(Func{Tensor, Tensor})"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    public static Func<Tensor, (Tensor Grad, Tensor Value)> GradAndValue(Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return x => GradAndValueCore(a => f(a[0]), [x ?? throw new ArgumentNullException(nameof(x))], 0);
    }

    /// <summary><c>torch.func.grad_and_value(f, argnums=argnum)</c> for a function of several tensors.</summary>
    /// <param name="f">A function returning a tensor with no dimensions.</param>
    /// <param name="argnum">Which input to differentiate with respect to (negative counts from the end).</param>
    /// <returns>The function giving <c>(Grad, Value)</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    public static Func<Tensor[], (Tensor Grad, Tensor Value)> GradAndValue(Func<Tensor[], Tensor> f, int argnum = 0)
    {
        ArgumentNullException.ThrowIfNull(f);
        return args => GradAndValueCore(f, args, argnum);
    }

    /// <summary>eager_transforms.py's <c>grad_and_value</c>: f at wrapped inputs of a new grad level, differentiated there.</summary>
    private static (Tensor Grad, Tensor Value) GradAndValueCore(Func<Tensor[], Tensor> f, Tensor[] args, int argnum)
    {
        ArgumentNullException.ThrowIfNull(args);
        int index = ArgumentIndex(args, argnum);
        Tensor[] results = InGradLevel(args, wrapped =>
        {
            Tensor diff = Differentiable(wrapped[index]);
            Tensor output = f(wrapped) ?? throw new AutogradException("grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got <class 'NoneType'>");
            if (output.dim() != 0)
            {
                throw new AutogradException(
                    $"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor with {output.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?");
            }
            return [GradOrZeros(output, diff, null, retainGraph: false), output];
        });
        return (results[0], results[1]);
    }

    private static int ArgumentIndex(Tensor[] args, int argnum)
    {
        if (argnum < -args.Length || argnum >= args.Length)
        {
            throw new ArgumentException($"Got argnum={argnum}, but only {args.Length} positional inputs", nameof(argnum));
        }
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is null)
            {
                throw new ArgumentNullException(nameof(args), $"Input {i} is null.");
            }
        }
        return argnum < 0 ? argnum + args.Length : argnum;
    }

    /// <summary>
    /// Runs <paramref name="body"/> on <paramref name="args"/> wrapped for a new grad level (PyTorch's
    /// <c>grad_increment_nesting</c> and <c>_wrap_all_tensors</c>, grad mode on), pops the level also when the body
    /// throws, and hands back the body's results unwrapped (<c>_undo_create_differentiable</c>), owned by the caller's scope.
    /// </summary>
    /// <param name="args">The inputs, wrapped for the level.</param>
    /// <param name="body">The computation at the level.</param>
    /// <param name="keep">Tensors of the level to hand to the caller's scope as they are (vjp's graph), read after the body ran.</param>
    private static Tensor[] InGradLevel(Tensor[] args, Func<Tensor[], Tensor[]> body, Func<Tensor[]>? keep = null)
    {
        LibTorchLoader.EnsureLoaded();
        bool previousGradMode = torch.is_grad_enabled();
        using var scope = torch.NewDisposeScope();
        int level = NativeFunctorch.PushGrad(previousGradMode);
        Tensor[] inner;
        try
        {
            using (torch.enable_grad())
            {
                var wrapped = new Tensor[args.Length];
                for (int i = 0; i < args.Length; i++)
                {
                    wrapped[i] = NativeFunctorch.WrapForGrad(args[i], level);
                }
                inner = body(wrapped);
            }
        }
        catch (ExternalException e)
        {
            throw Ensure.Translate(e);
        }
        finally
        {
            NativeFunctorch.PopGrad(level);
        }
        var results = new Tensor[inner.Length];
        for (int i = 0; i < inner.Length; i++)
        {
            results[i] = NativeFunctorch.UnwrapDead(inner[i]);
        }
        scope.MoveToOuter(results);
        if (keep is not null)
        {
            scope.MoveToOuter(keep());
        }
        return results;
    }

    /// <summary>PyTorch's <c>_create_differentiable</c> for one wrapped input: floating point or complex, then <c>requires_grad_()</c>.</summary>
    private static Tensor Differentiable(Tensor wrapped)
    {
        if (!TensorArguments.HasDifferentiableDtype(wrapped))
        {
            throw new AutogradException("only Tensors of floating point dtype can require gradients");
        }
        NativeFunctorch.MakeDifferentiable(wrapped);
        return wrapped;
    }

    /// <summary>
    /// eager_transforms.py's <c>_autograd_grad</c> for one output and input: the vector-Jacobian product with the
    /// graph recorded (so transforms compose), zeros where the output does not depend on the input.
    /// </summary>
    private static Tensor GradOrZeros(Tensor output, Tensor input, Tensor? seed, bool retainGraph)
    {
        if (!output.requires_grad)
        {
            return torch.zeros_like(input);
        }
        Tensor?[] grads = Autograd.Grad([output], [input], seed is null ? null : [seed], retainGraph, createGraph: true, allowUnused: true);
        return grads[0] ?? torch.zeros_like(input);
    }
}
