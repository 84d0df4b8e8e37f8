using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AutogradKit.Tests.Graph;

/// <summary>
/// The expressions of TestData/generate_graphs.py, rebuilt in C# by case name. Operands have the generator's
/// shapes; their values do not matter to the graph.
/// </summary>
internal static class GraphCases
{
    public static Tensor Build(string name, Device device)
    {
        Tensor R(params long[] shape) => (torch.rand(shape, device: device) + 0.5).requires_grad_(true);
        Tensor x = R(2, 3), y = R(2, 3), w = R(3, 4), b = R(4), v = R(3);
        Tensor t = torch.rand(2, 3, device: device) + 0.5;
        return name switch
        {
            "add" => x + y,
            "add_no_grad_operand" => x + t,
            "sub" => x - y,
            "mul" => x * y,
            "mul_self" => x * x,
            "div" => x / y,
            "neg" => -x,
            "matmul_2d" => torch.matmul(x, w),
            "matmul_1d_2d" => torch.matmul(v, w),
            "mm" => torch.mm(x, w),
            "pow_tensor_exponent" => torch.pow(x, y),
            "pow_scalar_exponent" => torch.pow(x, 2.0),
            "exp" => torch.exp(x),
            "log" => torch.log(x),
            "sin" => torch.sin(x),
            "cos" => torch.cos(x),
            "sqrt" => torch.sqrt(x),
            "abs" => torch.abs(x),
            "tanh" => torch.tanh(x),
            "sigmoid" => torch.sigmoid(x),
            "relu" => F.relu(x),
            "sum" => x.sum(),
            "sum_dim" => x.sum(1),
            "mean" => x.mean(),
            "view" => x.view(3, 2),
            "reshape" => x.reshape(6),
            "transpose" => x.transpose(0, 1),
            "t" => x.t(),
            "unsqueeze" => x.unsqueeze(0),
            "index_int" => x[0],
            "index_slice" => x[TensorIndex.Slice(1)],
            "index_colon_slice" => x[TensorIndex.Colon, TensorIndex.Slice(1)],
            "cat" => torch.cat([x, y]),
            "stack" => torch.stack([x, y]),
            "bce_with_logits" => F.binary_cross_entropy_with_logits(x, t),
            "mse_loss" => F.mse_loss(x, y),
            "linear" => F.linear(x, w.t(), b),
            "softmax" => F.softmax(x, 1),
            "log_softmax" => F.log_softmax(x, 1),
            "clone" => x.clone(),
            "chain_mul_sum" => (x * y).sum(),
            "chain_mixed" => torch.exp(x).sum() + torch.tanh(y).mean(),
            "mlp" => F.relu(torch.matmul(x, w) + b).sum(),
            "notebook_z" => Notebook(device).Z,
            "notebook_loss" => Notebook(device).Loss,
            // TorchSharp's number operands call libtorch's Scalar overloads (the generator calls the same
            // overloads through torch.ops.aten): x * 2 builds MulBackward1 here where Python's x * 2 builds MulBackward0.
            "scalar_add" => x + 2.0,
            "scalar_sub" => x - 2.0,
            "scalar_mul" => x * 2.0,
            "scalar_div" => x / 2.0,
            "scalar_pow" => x.pow(2.0),
            _ => throw new ArgumentException($"No C# builder for graph case '{name}'.", nameof(name)),
        };
    }

    /// <summary>The tutorial notebook's graph: z = matmul(x, w) + b and its loss.</summary>
    public static (Tensor W, Tensor B, Tensor Z, Tensor Loss) Notebook(Device device)
    {
        Tensor x = torch.ones(5, device: device);
        Tensor y = torch.zeros(3, device: device);
        Tensor w = torch.randn(5, 3, requires_grad: true, device: device);
        Tensor b = torch.randn(3, requires_grad: true, device: device);
        Tensor z = torch.matmul(x, w) + b;
        Tensor loss = F.binary_cross_entropy_with_logits(z, y);
        return (w, b, z, loss);
    }
}
