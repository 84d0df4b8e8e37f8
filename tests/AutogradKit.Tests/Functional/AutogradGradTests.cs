using System.Text.Json;
using AutogradKit.Tests.Robustness;
using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Functional;

public class AutogradGradTests
{
    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_ReturnsGradients_AndLeavesEveryDotGradAsItWas(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0, 3.0 }, device: device, requires_grad: true);
        Tensor w = torch.tensor(new[] { 0.5, 0.5, 0.5 }, device: device, requires_grad: true);
        Tensor existing = torch.full(3, 9.0, dtype: ScalarType.Float64, device: device);
        x.grad = existing;
        Tensor y = (x * x * w).sum();

        Tensor?[] g = Autograd.Grad([y], [x], retainGraph: true);

        Assert.That(g[0]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 1.0, 2.0, 3.0 }));
        Assert.That(x.grad!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 9.0, 9.0, 9.0 }), "an existing .grad unchanged");
        Assert.That(w.grad, Is.Null, "None stays None, also for a leaf of the graph that is not an input");
        Assert.That(g[0]!.requires_grad, Is.False);
        // The very tensor: PyTorch's grad never replaces .grad (a backward into it and back would).
        using (Tensor same = x.grad!)
        {
            existing.add_(1.0);
            Assert.That(same.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 10.0, 10.0, 10.0 }));
        }

        Tensor?[] both = Autograd.Grad([y], [x, w]);
        Assert.That(both[1]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 1.0, 4.0, 9.0 }));
        Assert.That(w.grad, Is.Null);
        // retainGraph defaults to createGraph (false): the graph is freed.
        Assert.Throws<GraphFreedException>(() => Autograd.Grad([y], [x]));
        Assert.That(x.grad!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 10.0, 10.0, 10.0 }), "unchanged when the pass fails");
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_NonLeafInput_DoesNotTurnOnRetainGrad(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0 }, device: device, requires_grad: true);
        Tensor h = x * 3;
        Tensor y = (h * h).sum();

        Autograd.Grad([y], [h], retainGraph: true);
        // Had Grad called retain_grad() on h, this backward would fill h.grad.
        y.Backward();

        Assert.That(x.grad!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 18.0, 36.0 }));
        using (torch.NewDisposeScope())
        {
            Assert.That(Autograd.Grad([(h * 2).sum()], [x])[0]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 6.0, 6.0 }));
        }
        // (libtorch warns on stderr that a non-leaf's .grad is read: the warning PyTorch gives for the same read.)
        Assert.That(h.grad, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_TensorHookThatThrows_ReachesTheCallerAsItself(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0 }, device: device, requires_grad: true);
        Tensor h = x * 3;
        var thrown = new InvalidOperationException("hook failed");
        using (h.RegisterHook(_ => throw thrown))
        {
            var caught = Assert.Throws<InvalidOperationException>(() => Autograd.Grad([(h * h).sum()], [x]));
            Assert.That(caught, Is.SameAs(thrown));
        }
        Tensor?[] g = Autograd.Grad([(h * h).sum()], [x]);
        Assert.That(g[0]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 18.0, 36.0 }), "works again once the hook is gone");
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_TensorHook_RunsAndReplacesTheGradient(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0 }, device: device, requires_grad: true);
        Tensor h = x * 3;
        int calls = 0;
        using IDisposable hook = h.RegisterHook(g =>
        {
            calls++;
            return g * 10;
        });
        Tensor?[] grads = Autograd.Grad([h.sum()], [x]);
        // PyTorch: torch.autograd.grad runs tensor hooks on the way: d/dx sum(3x) = 3, times 10.
        Assert.That(grads[0]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 30.0, 30.0 }));
        Assert.That(calls, Is.EqualTo(1));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_CreateGraph_GivesSecondDerivative(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(2.0, dtype: ScalarType.Float64, device: device, requires_grad: true);
        Tensor y = x.pow(3);
        Tensor dy = Autograd.Grad([y], [x], createGraph: true)[0]!;
        Tensor d2y = Autograd.Grad([dy], [x])[0]!;
        Assert.That(dy.item<double>(), Is.EqualTo(12.0));
        Assert.That(d2y.item<double>(), Is.EqualTo(12.0));
        Assert.That(x.grad, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_NonLeafInput_Works(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0 }, device: device, requires_grad: true);
        Tensor h = x * 3;
        Tensor y = (h * h).sum();
        Tensor?[] g = Autograd.Grad([y, y], [h, x], [torch.ones_like(y), torch.ones_like(y)]);
        Assert.That(g[0]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 12.0, 24.0 }));
        Assert.That(g[1]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 36.0, 72.0 }));
        Assert.That(h.grad, Is.Null);
        Assert.That(x.grad, Is.Null);
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_UnusedInput_NullWithAllowUnused(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.ones(3, dtype: ScalarType.Float64, device: device, requires_grad: true);
        Tensor z = torch.ones(2, dtype: ScalarType.Float64, device: device, requires_grad: true);
        Tensor?[] g = Autograd.Grad([(x * 2).sum()], [x, z], allowUnused: true);
        Assert.That(g[0], Is.Not.Null);
        Assert.That(g[1], Is.Null);
    }

    /// <summary>Every misuse, in this process: each must throw a typed exception, none may end the process.</summary>
    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_EveryMisuse_ThrowsTypedException(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0, 3.0 }, device: device, requires_grad: true);
        Tensor ones(params long[] s) => torch.ones(s, dtype: ScalarType.Float64, device: device);
        string M(string key) => FunctionalData.Message(key);

        Assert.That(Assert.Throws<GradientShapeException>(() => Autograd.Grad([x * 2], [x], [ones(4)]))!.Message, Is.EqualTo(M("grad_shape")));
        Assert.That(Assert.Throws<NonScalarOutputException>(() => Autograd.Grad([x * 2], [x]))!.Message, Is.EqualTo(M("grad_nonscalar")));
        Assert.That(Assert.Throws<NoGradFnException>(() => Autograd.Grad([ones(3)], [x], [ones(3)]))!.Message, Is.EqualTo(M("grad_no_grad_fn")));
        Assert.That(Assert.Throws<AutogradException>(() => Autograd.Grad([(x * 2).sum()], [ones(3)]))!.Message, Is.EqualTo(M("grad_input_no_grad")));
        Assert.That(Assert.Throws<UnusedInputException>(() => Autograd.Grad([(x * 2).sum()], [x, ones(2).requires_grad_(true)]))!.Message, Is.EqualTo(M("grad_unused")));
        Tensor y = (x * x).sum();
        Autograd.Grad([y], [x]);
        var freed = Assert.Throws<GraphFreedException>(() => Autograd.Grad([y], [x]))!;
        Assert.That(freed.Message, Is.EqualTo(M("grad_freed")));
        Assert.That(freed.NativeMessage, Is.Not.Null);

        Tensor yb = x * x;
        Assert.That(Assert.Throws<GradientShapeException>(() => Autograd.Grad([yb], [x], [ones(2, 4)], retainGraph: true, isGradsBatched: true))!.Message, Is.EqualTo(M("grad_batched_shape")));
        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Grad([yb, yb], [x], [ones(2, 3), ones(3, 3)], retainGraph: true, isGradsBatched: true))!.Message, Does.StartWith(M("grad_batched_sizes")));
        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Grad([yb.sum()], [x], retainGraph: true, isGradsBatched: true))!.Message, Does.StartWith(M("grad_batched_scalar")));
        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Grad([yb], [x], [ones(0, 3)], retainGraph: true, isGradsBatched: true))!.Message, Does.StartWith(M("grad_batched_empty")));
        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Grad([yb.sum()], [x], [ones()], retainGraph: true, isGradsBatched: true))!.Message, Does.StartWith(M("grad_batched_0dim")));
        Assert.That(Assert.Throws<UnusedInputException>(() => Autograd.Grad([yb], [x, ones(2).requires_grad_(true)], [ones(2, 3)], retainGraph: true, isGradsBatched: true))!.Message, Is.EqualTo(M("grad_unused")));
        Assert.That(Autograd.Grad([yb], [x], [ones(2, 3)], isGradsBatched: true)[0]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 2.0, 4.0, 6.0, 2.0, 4.0, 6.0 }), "the graph survived the failed calls");
        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Grad([(x * 2).sum()], [x], [ones(), ones()]))!.Message, Does.StartWith("got 1 tensors and 2 gradients"));
        Assert.That(Assert.Throws<ArgumentException>(() => Autograd.Grad([(x * 2).sum()], []))!.Message, Does.StartWith("grad requires non-empty inputs."));
        Assert.Throws<ArgumentNullException>(() => Autograd.Grad(null!, [x]));
        Assert.Throws<ArgumentNullException>(() => Autograd.Grad([(x * 2).sum()], null!));
        Assert.Throws<ArgumentNullException>(() => Autograd.Grad([null!], [x]));
        Assert.Throws<ArgumentNullException>(() => Autograd.Grad([(x * 2).sum()], [null!]));
        Assert.Throws<ArgumentNullException>(() => Autograd.Grad([(x * 2).sum()], [x], [null!]));
        Tensor disposed = ones(3).requires_grad_(true);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Autograd.Grad([(x * 2).sum()], [disposed]));
        Assert.Throws<ObjectDisposedException>(() => Autograd.Grad([disposed], [x]));
        // libtorch casts a gradient of another dtype, as PyTorch does.
        Assert.That(Autograd.Grad([x * 2], [x], [torch.ones(3, dtype: ScalarType.Int64, device: device)])[0]!.dtype, Is.EqualTo(ScalarType.Float64));

        Assert.That(x.grad, Is.Null);
        Assert.That(x.requires_grad, Is.True);
        // Still works afterwards.
        Assert.That(Autograd.Grad([(x * 2).sum()], [x])[0]!.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 2.0, 2.0, 2.0 }));
    }

    [Test]
    public void Grad_FirstCallOfAProcessInsideInferenceModeAndNoGrad_GivesTheGradient()
    {
        // The first use compiles and checks the grad script on a fresh thread, out of the caller's modes.
        MisuseTests.ChildResult child = MisuseTests.RunChild("--grad-first-use-probe");
        Assert.That(child.ExitCode, Is.EqualTo(0), child.Describe());
        Assert.That(child.Output, Does.Contain("modes inside: grad False, inference True"));
        Assert.That(child.Output, Does.Contain("gradient 2 4"));
        Assert.That(child.Output, Does.Contain("modes after: grad True, inference False"));
        Assert.That(child.Output, Does.Contain("second call 2 4"));
    }

    [Test]
    public void Grad_ManyOutputsAndInputs_EachGradientInItsPlace()
    {
        // More tensors than fit the call's stack arrays: 100 outputs and 100 inputs, y_i = (i + 1) · x_i².
        using var scope = torch.NewDisposeScope();
        Tensor[] xs = Enumerable.Range(0, 100).Select(i => torch.tensor((double)i).requires_grad_(true)).ToArray();
        Tensor[] ys = xs.Select((x, i) => (i + 1) * x * x).ToArray();

        Tensor?[] g = Autograd.Grad(ys, xs, ys.Select(y => torch.ones_like(y)).ToArray());

        // d/dx_i of sum_j y_j = 2 (i + 1) x_i = 2 (i + 1) i.
        Assert.That(g.Select(t => t!.item<double>()), Is.EqualTo(Enumerable.Range(0, 100).Select(i => 2.0 * (i + 1) * i)));
    }

    private static IEnumerable<TestCaseData> GraphCases() =>
        DeviceCases.Cross(FunctionalData.Rows("grad_graphs"), row => FunctionalData.Section("grad_graphs")[(int)row[0]!].GetProperty("function").GetString()!);

    /// <summary>
    /// <c>torch.autograd.grad(f(x).sum(), x, create_graph=True)</c>: the gradient's graph, breadth first, node by
    /// node, is the one PyTorch builds (no extra copy node, e.g. <c>SigmoidBackwardBackward0</c> on top).
    /// </summary>
    [TestCaseSource(nameof(GraphCases))]
    public void Grad_CreateGraph_BuildsPyTorchsGraph(string deviceName, int index)
    {
        Device device = DeviceCases.Device(deviceName);
        JsonElement c = FunctionalData.Section("grad_graphs")[index];
        Tensor x = FunctionalData.ToTensor(c.GetProperty("input"), device).requires_grad_(true);
        Tensor y = FunctionalData.Function(c.GetProperty("function").GetString()!, device)(x).sum();

        Tensor g = Autograd.Grad([y], [x], createGraph: true)[0]!;

        AutogradFunctionalTests.AssertClose(g, FunctionalData.ToTensor(c.GetProperty("expected"), device), "gradient");
        Assert.That(GraphNames(g, c.GetProperty("names").GetArrayLength()),
            Is.EqualTo(c.GetProperty("names").EnumerateArray().Select(e => e.GetString()).ToArray()));
        Assert.That(x.grad, Is.Null);
    }

    /// <summary>The nodes under <paramref name="t"/>'s grad_fn, breadth first, each once: generate_functional.py's graph_names.</summary>
    internal static string[] GraphNames(Tensor t, int limit)
    {
        var seen = new HashSet<GradFn>();
        var names = new List<string>();
        var queue = new Queue<GradFn?>([t.GradFn]);
        while (queue.Count > 0 && names.Count < limit)
        {
            GradFn? node = queue.Dequeue();
            if (node is null || !seen.Add(node))
            {
                continue;
            }
            names.Add(node.Name);
            foreach (GradEdge edge in node.NextFunctions)
            {
                queue.Enqueue(edge.Function);
            }
        }
        return names.ToArray();
    }

    private static IEnumerable<TestCaseData> BatchedCases() =>
        DeviceCases.Cross(FunctionalData.Rows("grad_batched"), row => FunctionalData.Section("grad_batched")[(int)row[0]!].GetProperty("function").GetString()!);

    [TestCaseSource(nameof(BatchedCases))]
    public void Grad_IsGradsBatched_GivesPyTorchsProducts(string deviceName, int index)
    {
        Device device = DeviceCases.Device(deviceName);
        JsonElement c = FunctionalData.Section("grad_batched")[index];
        Tensor x = FunctionalData.ToTensor(c.GetProperty("input"), device).requires_grad_(true);
        Tensor[] gradOutputs = c.GetProperty("grad_outputs").EnumerateArray().Select(t => FunctionalData.ToTensor(t, device)).ToArray();
        string[] functions = c.GetProperty("function").GetString()!.Split('+');
        Tensor[] outputs = functions.Select(name => FunctionalData.Function(name, device)(x)).ToArray();
        Tensor unused = torch.tensor(new[] { 1.0, 2.0 }, device: device, requires_grad: true);

        Tensor?[] g = c.TryGetProperty("unused_is_none", out _)
            ? Autograd.Grad(outputs, [x, unused], gradOutputs, isGradsBatched: true, allowUnused: true)
            : Autograd.Grad(outputs, [x], gradOutputs, isGradsBatched: true);

        AutogradFunctionalTests.AssertClose(g[0]!, FunctionalData.ToTensor(c.GetProperty("expected"), device), "batched vector-Jacobian products");
        if (g.Length > 1)
        {
            Assert.That(g[1], Is.Null);
        }
        Assert.That(g[0]!.requires_grad, Is.False);
        // retainGraph defaults to false: the graph is freed after the last entry, as after PyTorch's one batched pass.
        Assert.Throws<GraphFreedException>(() => Autograd.Grad(outputs, [x], gradOutputs, isGradsBatched: true));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_IsGradsBatchedWithCreateGraph_IsDifferentiable(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0, 3.0 }, device: device, requires_grad: true);
        // Rows of d(x³)/dx = diag(3x²); the sum of all rows' entries differentiated again: 6x.
        Tensor rows = Autograd.Grad([x.pow(3)], [x], [torch.eye(3, dtype: ScalarType.Float64, device: device)], createGraph: true, isGradsBatched: true)[0]!;
        Assert.That(rows.requires_grad, Is.True);
        Tensor second = Autograd.Grad([rows.sum()], [x])[0]!;
        Assert.That(second.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 6.0, 12.0, 18.0 }));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Grad_MaterializeGrads_GivesZerosThatRequireGradForUnusedInputs(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        JsonElement c = FunctionalData.Section("grad_materialized");
        Tensor x = FunctionalData.ToTensor(c.GetProperty("input"), device).requires_grad_(true);
        Tensor unused = FunctionalData.ToTensor(c.GetProperty("unused"), device).requires_grad_(true);
        Tensor y = FunctionalData.Function(c.GetProperty("function").GetString()!, device)(x).sum();

        // allowUnused is implied, as in PyTorch 2.x when allow_unused is not given.
        Tensor?[] g = Autograd.Grad([y], [x, unused], materializeGrads: true);

        JsonElement[] expected = c.GetProperty("expected").EnumerateArray().ToArray();
        bool[] requiresGrad = c.GetProperty("requires_grad").EnumerateArray().Select(e => e.GetBoolean()).ToArray();
        for (int i = 0; i < g.Length; i++)
        {
            AutogradFunctionalTests.AssertClose(g[i]!, FunctionalData.ToTensor(expected[i], device), $"gradient {i}");
            Assert.That(g[i]!.requires_grad, Is.EqualTo(requiresGrad[i]), $"requires_grad of gradient {i}");
        }
        Assert.That(unused.grad, Is.Null);
    }
}
