using AutogradKit;
using TorchSharp;

torch.manual_seed(0);
Console.WriteLine(Autograd.IsGradEnabled);
