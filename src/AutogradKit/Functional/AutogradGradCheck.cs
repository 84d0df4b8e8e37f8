using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

public static partial class Autograd
{
    /// <summary>
    /// <c>torch.autograd.gradcheck(f, inputs)</c> (non-fast mode): compares the analytical Jacobian of
    /// <paramref name="f"/> with one from central finite differences, in float64, for every input that
    /// requires grad; an element passes when <c>|analytical − numerical| ≤ atol + rtol·|numerical|</c>.
    /// </summary>
    /// <param name="f">The function; it must not keep or modify its arguments.</param>
    /// <param name="inputs">The point; those that require grad are checked and must be float64. Not modified:
    /// the check runs on copies.</param>
    /// <param name="eps">The finite-difference step.</param>
    /// <param name="atol">Absolute tolerance.</param>
    /// <param name="rtol">Relative tolerance.</param>
    /// <param name="raiseException">Throw <see cref="GradCheckException"/> on a mismatch instead of returning false.</param>
    /// <returns>Whether the Jacobians agree.</returns>
    /// <exception cref="ArgumentException">No input requires grad, or one that does is not float64.</exception>
    /// <exception cref="GradCheckException">A mismatch, with <paramref name="raiseException"/>.</exception>
    /// <remarks>Thread-safety: safe to call from several threads.</remarks>
    public static bool GradCheck(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-5, double rtol = 1e-3, bool raiseException = true)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(inputs);
        CheckElements(inputs, nameof(inputs));
        LibTorchLoader.EnsureLoaded();
        bool any = false;
        for (int k = 0; k < inputs.Length; k++)
        {
            if (inputs[k].requires_grad)
            {
                any = true;
                if (inputs[k].dtype != ScalarType.Float64)
                {
                    throw new ArgumentException(
                        $"Input #{k} requires gradient and is not a double precision floating point or complex. This check will likely fail if all the inputs are not of double precision floating point or complex. (dtype {inputs[k].dtype})",
                        nameof(inputs));
                }
            }
        }
        if (!any)
        {
            throw new ArgumentException("gradcheck expects at least one input tensor to require gradient, but none of the them have requires_grad=True.", nameof(inputs));
        }

        using DisposeScope scope = torch.NewDisposeScope();
        Tensor[] xs = inputs.Select(x => x.detach().clone().requires_grad_(x.requires_grad)).ToArray();
        int[] checkedInputs = Enumerable.Range(0, xs.Length).Where(k => xs[k].requires_grad).ToArray();

        // Analytical: one backward pass per output element, rows of PyTorch's (input numel × output numel) layout.
        Tensor output;
        using (torch.enable_grad())
        {
            output = f(xs) ?? throw new ArgumentException("The function given to gradcheck returned null.", nameof(f));
        }
        long m = output.numel();
        var analytical = checkedInputs.Select(k => new double[xs[k].numel(), m]).ToArray();
        if (output.requires_grad && m > 0)
        {
            Tensor[] seeds = torch.eye(m, dtype: output.dtype, device: output.device).view([m, .. TensorShape.Of(output)]).unbind(0);
            Tensor[] diffInputs = checkedInputs.Select(k => xs[k]).ToArray();
            for (long j = 0; j < m; j++)
            {
                Tensor?[] grads = Grad([output], diffInputs, [seeds[j]], retainGraph: true, allowUnused: true);
                for (int c = 0; c < grads.Length; c++)
                {
                    if (grads[c] is { } g)
                    {
                        double[] values = g.to_type(ScalarType.Float64).cpu().reshape(-1).data<double>().ToArray();
                        for (int e = 0; e < values.Length; e++)
                        {
                            analytical[c][e, j] = values[e];
                        }
                    }
                }
            }
        }

        // Numerical: central differences, f(x + eps·e) − f(x − eps·e) over 2·eps, as gradcheck does.
        var numerical = checkedInputs.Select(k => new double[xs[k].numel(), m]).ToArray();
        using (torch.no_grad())
        {
            for (int c = 0; c < checkedInputs.Length; c++)
            {
                int k = checkedInputs[c];
                Tensor x = xs[k].detach();
                long n = x.numel();
                for (long e = 0; e < n; e++)
                {
                    using DisposeScope step = torch.NewDisposeScope();
                    Tensor basis = torch.zeros(n, dtype: ScalarType.Float64, device: x.device);
                    basis[e] = eps;
                    Tensor delta = basis.view(TensorShape.Of(x));
                    Tensor[] plus = xs.Select(t => t.detach()).ToArray();
                    Tensor[] minus = xs.Select(t => t.detach()).ToArray();
                    plus[k] = x + delta;
                    minus[k] = x - delta;
                    Tensor diff = (f(plus).to_type(ScalarType.Float64) - f(minus).to_type(ScalarType.Float64)) / (2 * eps);
                    double[] values = diff.cpu().reshape(-1).data<double>().ToArray();
                    for (int j = 0; j < values.Length && j < m; j++)
                    {
                        numerical[c][e, j] = values[j];
                    }
                }
            }
        }

        for (int c = 0; c < checkedInputs.Length; c++)
        {
            double[,] a = analytical[c], nu = numerical[c];
            for (int e = 0; e < a.GetLength(0); e++)
            {
                for (int j = 0; j < a.GetLength(1); j++)
                {
                    if (!(Math.Abs(a[e, j] - nu[e, j]) <= atol + rtol * Math.Abs(nu[e, j])))
                    {
                        if (!raiseException)
                        {
                            return false;
                        }
                        int k = checkedInputs[c];
                        throw new GradCheckException(
                            $"Jacobian mismatch for output 0 with respect to input {k},\nnumerical:{Matrix(nu)}\nanalytical:{Matrix(a)}\n"
                            + $"First mismatch: input {k} element {e}, output element {j}: numerical {Num(nu[e, j])}, analytical {Num(a[e, j])}.",
                            k, e, j, nu[e, j], a[e, j]);
                    }
                }
            }
        }
        return true;
    }

    private static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A Jacobian as PyTorch prints a float64 matrix, in fixed notation with four decimals.</summary>
    private static string Matrix(double[,] values)
    {
        int rows = values.GetLength(0), cols = values.GetLength(1);
        var cells = new string[rows, cols];
        int width = 0;
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                cells[r, c] = values[r, c].ToString("F4", CultureInfo.InvariantCulture);
                width = Math.Max(width, cells[r, c].Length);
            }
        }
        var text = new StringBuilder("tensor([");
        for (int r = 0; r < rows; r++)
        {
            text.Append(r == 0 ? "[" : ",\n        [");
            for (int c = 0; c < cols; c++)
            {
                text.Append(c == 0 ? "" : ", ").Append(cells[r, c].PadLeft(width));
            }
            text.Append(']');
        }
        return text.Append("], dtype=torch.float64)").ToString();
    }
}
