// The autograd tutorial notebook (tests/AutogradKit.Tests/TestData/autograd-tutorial-notebook.txt), cell by cell, in AutogradKit.
// Read it side by side with the notebook: each "In [n]" in Tour is the notebook's cell of that number.
// Its output equals PyTorch's (tests/AutogradKit.Tests/TestData/notebook-output.txt) but for object addresses and the
// exception's type name on the freed-graph line.
using AutogradKit;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradTour;

/// <summary>The notebook's cells; the tests run them on every device and compare with PyTorch's output.</summary>
public static class Tour
{
    /// <summary>Runs every cell, printing to <paramref name="output"/>, with tensors on <paramref name="device"/>.</summary>
    public static void Run(TextWriter output, Device device)
    {
        torch.manual_seed(0);
        using var scope = torch.NewDisposeScope();

        // In [1]: a one-layer network: x -> z = x·w + b -> binary cross-entropy with y.
        Tensor x = torch.ones(5, device: device);
        Tensor y = torch.zeros(3, device: device);
        // Parameters to optimise. Drawn on the CPU so that the seeded values equal PyTorch's on every device.
        Tensor w = torch.randn(5, 3).to(device).RequiresGrad();
        Tensor b = torch.randn(3).to(device).RequiresGrad();
        Tensor z = torch.matmul(x, w) + b;
        Tensor loss = nn.functional.binary_cross_entropy_with_logits(z, y);

        // In [3]: grad_fn, backward, and a second backward through a freed graph.
        output.WriteLine($"Gradient function for z = {z.GradFn}");
        output.WriteLine($"Gradient function for loss = {loss.GradFn}");
        loss.Backward();
        output.WriteLine(w.grad!.Repr());
        output.WriteLine(b.grad!.Repr());
        try
        {
            loss.Backward();
        }
        catch (GraphFreedException e)
        {
            output.WriteLine($"{nameof(GraphFreedException)}: {e.Message}");
        }

        // In [4]: switching gradient tracking off.
        Tensor z1 = torch.matmul(x, w) + b;
        output.WriteLine(z1.requires_grad);
        using (Autograd.NoGrad())
        {
            Tensor z2 = torch.matmul(x, w) + b;
            output.WriteLine(z2.requires_grad);
        }
        Tensor z3 = torch.matmul(x, w) + b;
        Tensor zDet = z3.Detach();
        output.WriteLine(zDet.requires_grad);

        // In [7]: Jacobian-vector products, accumulation, zeroing.
        Tensor inp = torch.eye(5, device: device).RequiresGrad();
        Tensor @out = (inp + 1).pow(2);
        @out.Backward(torch.ones_like(inp), retainGraph: true);
        output.WriteLine($"First call\n{inp.grad!.Repr()}");
        @out.Backward(torch.ones_like(inp), retainGraph: true);
        output.WriteLine($"\nSecond call\n{inp.grad!.Repr()}");
        inp.ZeroGrad();
        @out.Backward(torch.ones_like(inp), retainGraph: true);
        output.WriteLine($"\nCall after zeroing gradients\n{inp.grad!.Repr()}");
    }

    /// <summary>Draws the graph of In [1]'s loss with Graphviz, naming the parameters as torchviz would.</summary>
    public static void DrawGraph(string svgPath)
    {
        torch.manual_seed(0);
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(5);
        Tensor y = torch.zeros(3);
        Tensor w = torch.randn(5, 3, requires_grad: true);
        Tensor b = torch.randn(3, requires_grad: true);
        Tensor loss = nn.functional.binary_cross_entropy_with_logits(torch.matmul(x, w) + b, y);
        AutogradGraph.RenderSvg(loss, svgPath, new Dictionary<string, Tensor> { ["w"] = w, ["b"] = b });
    }
}
