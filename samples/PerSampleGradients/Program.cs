// Per-sample gradients of a small network with TorchFunc.Vmap(TorchFunc.Grad(...)) and FunctionalCall, checked
// against a loop of ordinary backward passes, then one DP-SGD style step: clip each sample's gradient, average,
// add Gaussian noise. PyTorch: vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y) with torch.func.functional_call.
using AutogradKit;
using TorchSharp;
using static TorchSharp.torch;

torch.manual_seed(0);
var model = nn.Sequential(("fc1", nn.Linear(32, 64)), ("act", nn.Tanh()), ("fc2", nn.Linear(64, 10)));
const int Batch = 64;
Tensor x = torch.randn(Batch, 32);
Tensor y = torch.randint(0, 10, [Batch]);

string[] names = model.named_parameters().Select(p => p.name).ToArray();
Tensor[] parameters = model.named_parameters().Select(p => p.parameter.detach()).ToArray();

// The loss of ONE example, as a function of the parameters: what Grad differentiates and Vmap maps.
Tensor Loss(Tensor[] a)
{
    var weights = names.Select((n, i) => (n, a[i])).ToDictionary(e => e.n, e => e.Item2);
    Tensor logits = TorchFunc.FunctionalCall(model, weights, a[^2].unsqueeze(0));
    return nn.functional.cross_entropy(logits, a[^1].unsqueeze(0));
}

int?[] inDims = [.. names.Select(_ => (int?)null), 0, 0];
Tensor[] perSample = names.Select((_, k) => TorchFunc.Vmap(TorchFunc.Grad(Loss, k), inDims)([.. parameters, x, y])).ToArray();

// The same gradients, one ordinary backward pass per example.
double worst = 0;
for (int i = 0; i < Batch; i++)
{
    model.zero_grad();
    nn.functional.cross_entropy(model.call(x[i].unsqueeze(0)), y[i].unsqueeze(0)).backward();
    Tensor[] grads = model.parameters().Select(p => p.grad!).ToArray();
    for (int k = 0; k < names.Length; k++)
    {
        worst = Math.Max(worst, (perSample[k][i] - grads[k]).abs().max().item<float>());
    }
}
Console.WriteLine($"per-sample gradients: {string.Join(", ", names.Select((n, k) => $"{n} [{string.Join(", ", perSample[k].shape)}]"))}");
Console.WriteLine($"largest difference from a loop of backward passes: {worst:E1}");

// Per-sample gradient norms, the quantity differential privacy clips.
Tensor norms = torch.stack(perSample.Select(g => g.flatten(1).pow(2).sum([1L])).ToArray()).sum([0L]).sqrt();
Console.WriteLine($"gradient norms: min {norms.min().item<float>():F4}, max {norms.max().item<float>():F4}");

// One DP-SGD step: clip every sample's gradient to norm C, average, add N(0, (σC)²) noise, update.
const double C = 1.0, Sigma = 0.5, LearningRate = 0.1;
Tensor scale = (C / (norms + 1e-6)).clamp(max: 1.0);
Tensor clippedNorms = norms * scale;
Console.WriteLine($"clipped norms: max {clippedNorms.max().item<float>():F4} (C = {C})");
double lossBefore = nn.functional.cross_entropy(model.call(x), y).item<float>();
using (torch.no_grad())
{
    var ps = model.parameters().ToArray();
    for (int k = 0; k < ps.Length; k++)
    {
        long[] perExample = [Batch, .. Enumerable.Repeat(1L, (int)perSample[k].dim() - 1)];
        Tensor clipped = (perSample[k] * scale.view(perExample)).sum([0L]);
        Tensor noisy = (clipped + torch.randn_like(clipped) * (Sigma * C)) / Batch;
        ps[k].sub_(noisy * LearningRate);
    }
}
double lossAfter = nn.functional.cross_entropy(model.call(x), y).item<float>();
Console.WriteLine($"loss before the DP-SGD step: {lossBefore:F4}, after: {lossAfter:F4}");
