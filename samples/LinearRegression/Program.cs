// Linear regression by hand: forward, Backward, an SGD update under NoGrad, ZeroGrad — the training loop
// PyTorch's tutorials teach, in AutogradKit. Learns y = X·[2, -3.4] + 4.2 from noisy samples.
using AutogradKit;
using TorchSharp;
using static TorchSharp.torch;

torch.manual_seed(42);

Tensor trueW = torch.tensor(new[] { 2.0f, -3.4f }).reshape(2, 1);
const float trueB = 4.2f;
Tensor features = torch.randn(1000, 2);
Tensor labels = torch.matmul(features, trueW) + trueB + 0.01f * torch.randn(1000, 1);

// Parameters: small random weights, zero bias, both leaves that require grad.
Tensor w = (0.01f * torch.randn(2, 1)).RequiresGrad();
Tensor b = torch.zeros(1).RequiresGrad();

const float learningRate = 0.03f;
const int batchSize = 10;
const int epochs = 3;
for (int epoch = 1; epoch <= epochs; epoch++)
{
    Tensor order = torch.randperm(features.shape[0]);
    for (long start = 0; start < features.shape[0]; start += batchSize)
    {
        using var step = torch.NewDisposeScope();
        Tensor index = order[TensorIndex.Slice(start, start + batchSize)];
        Tensor predicted = torch.matmul(features[index], w) + b;
        Tensor loss = (predicted - labels[index]).pow(2).mean() / 2;
        loss.Backward();
        using (Autograd.NoGrad())
        {
            w.sub_(learningRate * w.grad!);
            b.sub_(learningRate * b.grad!);
        }
        w.ZeroGrad();
        b.ZeroGrad();
    }
    using (Autograd.NoGrad())
    {
        Tensor trainLoss = ((torch.matmul(features, w) + b - labels).pow(2).mean() / 2);
        Console.WriteLine($"epoch {epoch}, loss {trainLoss.item<float>():F6}");
    }
}

Console.WriteLine($"learnt w: {w.Detach().reshape(2).Repr()}   true w: {trueW.reshape(2).Repr()}");
Console.WriteLine($"learnt b: {b.Detach().Repr()}   true b: {trueB}");
