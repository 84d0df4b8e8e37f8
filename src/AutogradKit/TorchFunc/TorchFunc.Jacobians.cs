using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

public static partial class TorchFunc
{
    /// <summary>
    /// <c>torch.func.vjp(f, primal)</c>: <paramref name="f"/>'s output at <paramref name="primal"/>, and the function
    /// that takes a cotangent shaped like the output to the vector-Jacobian product (shaped like the primal).
    /// </summary>
    /// <param name="f">The function.</param>
    /// <param name="primal">Where to evaluate it.</param>
    /// <returns>The output and the vjp function; the vjp function keeps f's graph and may be called many times, and
    /// records its own graph when grad mode is on (PyTorch's <c>create_graph=None</c>). A cotangent of another shape is a
    /// <see cref="GradientShapeException"/> with PyTorch's text.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> or <paramref name="primal"/> is null.</exception>
    /// <exception cref="AutogradException">f returned null, or libtorch raised an error.</exception>
    public static (Tensor Output, Func<Tensor, Tensor> VjpFn) Vjp(Func<Tensor, Tensor> f, Tensor primal)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(primal);
        Tensor? outputAtLevel = null;
        Tensor? primalAtLevel = null;
        Tensor[] results = InGradLevel([primal], wrapped =>
        {
            primalAtLevel = Differentiable(wrapped[0]);
            outputAtLevel = f(primalAtLevel) ?? throw new AutogradException(
                "vjp(f, *primals): Expected f to be a function that has non-empty output (got output = [None])");
            return [outputAtLevel];
        }, keep: () => [outputAtLevel!, primalAtLevel!]);
        Tensor keptOutput = outputAtLevel!;
        Tensor keptPrimal = primalAtLevel!;
        return (results[0], VjpFn);

        Tensor VjpFn(Tensor cotangent)
        {
            ArgumentNullException.ThrowIfNull(cotangent);
            // eager_transforms.py's vjp wrapper: after the level is gone, on its (now dead) wrapped tensors.
            using var scope = torch.NewDisposeScope();
            Tensor grad;
            if (!keptOutput.requires_grad)
            {
                BackwardExtensions.CheckGradientShape(keptOutput, cotangent, 0);
                grad = torch.zeros_like(keptPrimal);
            }
            else
            {
                grad = Autograd.Grad([keptOutput], [keptPrimal], [cotangent], retainGraph: true, createGraph: torch.is_grad_enabled(), allowUnused: true)[0]
                    ?? torch.zeros_like(keptPrimal);
            }
            Tensor result = NativeFunctorch.UnwrapDead(grad);
            return result.MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// <c>torch.func.jvp(f, (primal,), (tangent,))</c>: <paramref name="f"/>'s output at <paramref name="primal"/> and
    /// the Jacobian-vector product with <paramref name="tangent"/>, composable with the other transforms.
    /// </summary>
    /// <param name="f">The function.</param>
    /// <param name="primal">Where to evaluate it.</param>
    /// <param name="tangent">The direction, shaped like <paramref name="primal"/>.</param>
    /// <returns>The output and the Jacobian-vector product (shaped like the output).</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">The tangent's shape is not the primal's (PyTorch's text).</exception>
    /// <exception cref="AutogradException">f returned null, or libtorch raised an error.</exception>
    /// <remarks>Computed in reverse mode as the derivative of a vector-Jacobian product with respect to its (zero)
    /// cotangent: the values are forward mode's, and every operation with a double backward works.</remarks>
    public static (Tensor Output, Tensor Jvp) Jvp(Func<Tensor, Tensor> f, Tensor primal, Tensor tangent)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(primal);
        ArgumentNullException.ThrowIfNull(tangent);
        if (!primal.shape.SequenceEqual(tangent.shape))
        {
            throw new ArgumentException(
                $"Trying to set a forward gradient that has a different size than that of the original Tensor, this is not supported. Tensor is of size [{string.Join(", ", primal.shape)}] while the given forward gradient is of size [{string.Join(", ", tangent.shape)}].",
                nameof(tangent));
        }
        Tensor[] results = InGradLevel([primal, tangent], wrapped =>
        {
            Tensor x = Differentiable(wrapped[0]);
            Tensor output = f(x) ?? throw new AutogradException(
                "jvp(f, primals, tangents): Expected f to be a function that has non-empty output (got output = [None])");
            Tensor cotangent = Differentiable(torch.zeros_like(output));
            Tensor transposed = GradOrZeros(output, x, cotangent, retainGraph: true);
            return [output, GradOrZeros(transposed, cotangent, wrapped[1], retainGraph: true)];
        });
        return (results[0], results[1]);
    }

    /// <summary>
    /// <c>torch.func.jacrev(f)</c>: the function computing <paramref name="f"/>'s Jacobian in reverse mode, one
    /// vector-Jacobian product per output element, all in one vmapped backward pass. Shape: output's, then input's.
    /// </summary>
    /// <param name="f">The function.</param>
    /// <returns>The Jacobian function; composable (<c>Jacrev(Jacrev(f))</c>, <c>Vmap(Jacrev(f))</c>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    public static Func<Tensor, Tensor> Jacrev(Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return x => JacrevCore(a => f(a[0]), [x ?? throw new ArgumentNullException(nameof(x))], 0);
    }

    /// <summary><c>torch.func.jacrev(f, argnums=argnum)</c> for a function of several tensors: the Jacobian with respect to input <paramref name="argnum"/>.</summary>
    /// <param name="f">The function.</param>
    /// <param name="argnum">Which input (negative counts from the end).</param>
    /// <returns>The Jacobian function.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    public static Func<Tensor[], Tensor> Jacrev(Func<Tensor[], Tensor> f, int argnum = 0)
    {
        ArgumentNullException.ThrowIfNull(f);
        return args => JacrevCore(f, args, argnum);
    }

    /// <summary>
    /// <c>torch.func.jacfwd(f)</c>: the function computing <paramref name="f"/>'s Jacobian column by column, one
    /// Jacobian-vector product per input element, vmapped. Shape: output's, then input's.
    /// </summary>
    /// <param name="f">The function.</param>
    /// <returns>The Jacobian function; composable.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    public static Func<Tensor, Tensor> Jacfwd(Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return x => JacfwdCore(a => f(a[0]), [x ?? throw new ArgumentNullException(nameof(x))], 0);
    }

    /// <summary><c>torch.func.jacfwd(f, argnums=argnum)</c> for a function of several tensors.</summary>
    /// <param name="f">The function.</param>
    /// <param name="argnum">Which input (negative counts from the end).</param>
    /// <returns>The Jacobian function.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    public static Func<Tensor[], Tensor> Jacfwd(Func<Tensor[], Tensor> f, int argnum = 0)
    {
        ArgumentNullException.ThrowIfNull(f);
        return args => JacfwdCore(f, args, argnum);
    }

    /// <summary><c>torch.func.hessian(f)</c>: <c>Jacfwd(Jacrev(f))</c>, as PyTorch builds it. Shape: input's twice.</summary>
    /// <param name="f">A function returning a tensor with one element.</param>
    /// <returns>The Hessian function.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    public static Func<Tensor, Tensor> Hessian(Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return Jacfwd(Jacrev(f));
    }

    /// <summary><c>torch.func.hessian(f, argnums=argnum)</c> for a function of several tensors.</summary>
    /// <param name="f">A function returning a tensor with one element.</param>
    /// <param name="argnum">Which input (negative counts from the end).</param>
    /// <returns>The Hessian function.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="f"/> is null.</exception>
    public static Func<Tensor[], Tensor> Hessian(Func<Tensor[], Tensor> f, int argnum = 0)
    {
        ArgumentNullException.ThrowIfNull(f);
        return Jacfwd(Jacrev(f, argnum), argnum);
    }

    /// <summary>jacrev: inside one grad level, a vmap over the standard basis of the output of its vector-Jacobian products.</summary>
    private static Tensor JacrevCore(Func<Tensor[], Tensor> f, Tensor[] args, int argnum)
    {
        ArgumentNullException.ThrowIfNull(args);
        int index = ArgumentIndex(args, argnum);
        return InGradLevel(args, wrapped =>
        {
            Tensor x = Differentiable(wrapped[index]);
            Tensor output = f(wrapped) ?? throw new AutogradException(
                "vjp(f, *primals): Expected f to be a function that has non-empty output (got output = [None])");
            long m = output.numel();
            long[] shape = [.. output.shape, .. x.shape];
            if (m == 0 || x.numel() == 0)
            {
                return [torch.zeros(shape, dtype: x.dtype, device: x.device)];
            }
            Tensor basis = torch.eye(m, dtype: output.dtype, device: output.device).reshape([m, .. output.shape]);
            Tensor rows = Vmap(v => GradOrZeros(output, x, v, retainGraph: true))(basis);
            return [rows.reshape(shape)];
        })[0];
    }

    /// <summary>jacfwd: a vmap over the standard basis of the input of Jacobian-vector products, its dimension moved last.</summary>
    private static Tensor JacfwdCore(Func<Tensor[], Tensor> f, Tensor[] args, int argnum)
    {
        ArgumentNullException.ThrowIfNull(args);
        int index = ArgumentIndex(args, argnum);
        Tensor x = args[index];
        using var scope = torch.NewDisposeScope();
        long n = x.numel();
        Tensor basis = torch.eye(n, dtype: x.dtype, device: x.device).reshape([n, .. x.shape]);
        Tensor columns = Vmap(t => Jvp(a =>
        {
            var all = (Tensor[])args.Clone();
            all[index] = a;
            return f(all);
        }, x, t).Jvp)(basis);
        long[] outputShape = columns.shape[1..];
        Tensor result = columns.reshape(n, -1).t().reshape([.. outputShape, .. x.shape]);
        return result.MoveToOuterDisposeScope();
    }
}
