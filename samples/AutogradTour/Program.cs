// The autograd tutorial notebook, run cell by cell (Tour.cs) on the CPU.
using AutogradTour;
using TorchSharp;

Tour.Run(Console.Out, torch.CPU);

// `dotnet run --project samples/AutogradTour -- --svg docs/tutorial-graph.svg` also draws In [1]'s graph.
if (args is ["--svg", string svgPath])
{
    Tour.DrawGraph(svgPath);
}
