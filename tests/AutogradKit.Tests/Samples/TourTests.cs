using System.Text.RegularExpressions;
using AutogradKit.Tests.Support;
using AutogradTour;
using NUnit.Framework;

namespace AutogradKit.Tests.Samples;

/// <summary>
/// The tour (samples/AutogradTour) prints what real PyTorch prints for the tutorial notebook
/// (TestData/notebook-output.txt, made by TestData/generate_notebook_output.py in PyTorch 1.13), but for object addresses and the exception's type name.
/// </summary>
public partial class TourTests
{
    private static readonly IReadOnlyList<string> Reference = TestDataFiles.Lines("notebook-output.txt");

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Run_PrintsPyTorchsNotebookOutput(string device)
    {
        string[] printed = RunTour(device);
        string[] expected = device == "cpu" ? [.. Reference] : Reference.Select(line => OnDevice(line, device)).ToArray();
        Assert.That(printed.Select(Mask), Is.EqualTo(expected));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Run_PrintsRealNodeAddresses(string device)
    {
        string[] printed = RunTour(device);
        Assert.That(printed[0], Does.Match(@"^Gradient function for z = <AddBackward0 object at 0x[0-9a-f]{6,16}>$"));
        Assert.That(printed[1], Does.Match(@"^Gradient function for loss = <BinaryCrossEntropyWithLogitsBackward0 object at 0x[0-9a-f]{6,16}>$"));
        Assert.That(printed[1][^15..], Is.Not.EqualTo(printed[0][^15..]), "two nodes, two addresses");
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void Run_ReportsTheFreedGraphAsGraphFreedException(string device)
    {
        string line = RunTour(device).Single(l => l.Contains("backward through the graph", StringComparison.Ordinal));
        string pytorch = Reference.Single(l => l.Contains("backward through the graph", StringComparison.Ordinal));
        Assert.That(line, Is.EqualTo(pytorch.Replace("RuntimeError: ", "GraphFreedException: ", StringComparison.Ordinal)));
    }

    private static string[] RunTour(string device)
    {
        var output = new StringWriter { NewLine = "\n" };
        Tour.Run(output, DeviceCases.Device(device));
        return output.ToString().TrimEnd('\n').Split('\n');
    }

    /// <summary>What notebook_reference.py does to PyTorch's text, and the one name .NET spells differently.</summary>
    private static string Mask(string line) =>
        AddressPattern().Replace(line, " object").Replace("GraphFreedException: ", "RuntimeError: ", StringComparison.Ordinal);

    /// <summary>PyTorch's text for the same tensors on a CUDA device: <c>device='cuda:0'</c> before the closing parenthesis.</summary>
    private static string OnDevice(string line, string device) =>
        line.EndsWith("])", StringComparison.Ordinal) ? $"{line[..^1]}, device='{device}')" : line;

    [GeneratedRegex(" object at 0x[0-9a-f]+")]
    private static partial Regex AddressPattern();
}
