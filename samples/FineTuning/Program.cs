// Fine-tuning: a "pretrained" body is frozen and only a new head is trained. Prints which parameters
// changed, so you can see that Freeze() keeps the body exactly as it was.
using AutogradKit;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

torch.manual_seed(0);

// Stand-in for a pretrained feature extractor, and a fresh classification head for a new task.
var body = nn.Sequential(("fc1", nn.Linear(4, 16)), ("relu1", nn.ReLU()), ("fc2", nn.Linear(16, 16)), ("relu2", nn.ReLU()));
var head = nn.Linear(16, 3);
var model = nn.Sequential(("body", body), ("head", head));

body.Freeze();

// A toy task: the class is the index of the largest of the first three features.
Tensor inputs = torch.randn(256, 4);
Tensor targets = inputs[TensorIndex.Colon, TensorIndex.Slice(0, 3)].argmax(1);

var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
var optimizer = optim.SGD(model.parameters(), learningRate: 0.5);
var lossFunction = nn.CrossEntropyLoss();
for (int epoch = 1; epoch <= 200; epoch++)
{
    using var step = torch.NewDisposeScope();
    optimizer.zero_grad();
    Tensor loss = lossFunction.forward(model.forward(inputs), targets);
    loss.Backward();
    optimizer.step();
    if (epoch % 40 == 0)
    {
        Console.WriteLine($"epoch {epoch,3}: loss {loss.item<float>():F4}");
    }
}

Console.WriteLine();
Console.WriteLine($"{"parameter",-16} {"requires_grad",-14} changed");
foreach (var (name, parameter) in model.named_parameters())
{
    bool changed = !before[name].equal(parameter.detach()).all().item<bool>();
    Console.WriteLine($"{name,-16} {parameter.requires_grad,-14} {changed}");
}

body.Unfreeze();
Console.WriteLine();
Console.WriteLine($"after Unfreeze(): every parameter requires grad = {model.parameters().All(p => p.requires_grad)}");
