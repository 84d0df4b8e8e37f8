// Grad-CAM (Selvaraju et al., 2017) of a small CNN with RegisterFullBackwardHook: train the CNN to tell images with a
// bright square from noise, then weight the last convolutional block's feature maps by the mean gradient of the
// "square" score flowing back into them. The heat map is written as a PNG and should peak on the square.
using AutogradKit;
using GradCam;
using TorchSharp;
using static TorchSharp.torch;

torch.manual_seed(0);
var random = new Random(0);
const int Size = 32, Side = 8;
string output = args.Length > 0 ? args[0] : "gradcam.png";

// Noise, and (class 1) a bright square at a random place.
(Tensor Images, Tensor Labels) Batch(int n)
{
    Tensor images = torch.rand(n, 1, Size, Size) * 0.3;
    Tensor labels = torch.randint(0, 2, n, dtype: ScalarType.Int64);
    for (int i = 0; i < n; i++)
    {
        if (labels[i].item<long>() == 1)
        {
            long row = random.NextInt64(Size - Side), column = random.NextInt64(Size - Side);
            images[i, 0, TensorIndex.Slice(row, row + Side), TensorIndex.Slice(column, column + Side)] += 0.7;
        }
    }
    return (images, labels);
}

var relu2 = nn.ReLU();
var model = nn.Sequential(
    ("conv1", nn.Conv2d(1, 8, 3, padding: 1)), ("relu1", nn.ReLU()),
    ("conv2", nn.Conv2d(8, 16, 3, padding: 1)), ("relu2", relu2),
    ("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), ("fc", nn.Linear(16, 2)));

var optimizer = optim.Adam(model.parameters(), lr: 0.01);
for (int step = 1; step <= 60; step++)
{
    using var scope = torch.NewDisposeScope();
    (Tensor images, Tensor labels) = Batch(16);
    optimizer.zero_grad();
    Tensor loss = nn.functional.cross_entropy(model.call(images), labels);
    loss.Backward();
    optimizer.step();
    if (step % 20 == 0)
    {
        Console.WriteLine($"step {step}: loss {loss.item<float>():F4}");
    }
}

// A test image with the square at a known place.
const int Top = 20, Left = 4;
Tensor image = torch.rand(1, 1, Size, Size) * 0.3;
image[0, 0, TensorIndex.Slice(Top, Top + Side), TensorIndex.Slice(Left, Left + Side)] += 0.7;

// The feature maps come from a TorchSharp forward hook, their gradient from the full backward hook.
Tensor? activations = null, gradients = null;
var forward = relu2.register_forward_hook((_, _, result) =>
{
    activations = result.detach().clone();
    return result;
});
using (relu2.RegisterFullBackwardHook((_, _, gradOutput) =>
{
    gradients = gradOutput[0]!.clone();
    return null;
}))
{
    Tensor scores = model.call(image);
    Console.WriteLine($"p(square) = {nn.functional.softmax(scores, 1)[0, 1].item<float>():F3}");
    scores[0, 1].Backward();
}
forward.remove();

// Grad-CAM: channel weights are the spatial means of the gradient; the map is the ReLU of the weighted sum.
Tensor weights = gradients!.mean([2, 3], keepdim: true);
Tensor cam = nn.functional.relu((weights * activations!).sum(1))[0];
cam /= cam.max() + 1e-12;

long peak = cam.argmax().item<long>();
long peakRow = peak / Size, peakColumn = peak % Size;
bool onSquare = peakRow >= Top && peakRow < Top + Side && peakColumn >= Left && peakColumn < Left + Side;
Console.WriteLine($"square at rows {Top}..{Top + Side - 1}, columns {Left}..{Left + Side - 1}");
Console.WriteLine($"heat map peaks at row {peakRow}, column {peakColumn}: on the square = {onSquare}");

// The heat map, 8x enlarged, black → red → yellow → white.
const int Scale = 8;
float[] heat = cam.data<float>().ToArray();
var rgb = new byte[Size * Scale * Size * Scale * 3];
for (int y = 0; y < Size * Scale; y++)
{
    for (int x = 0; x < Size * Scale; x++)
    {
        float v = Math.Clamp(heat[(y / Scale * Size) + (x / Scale)], 0f, 1f);
        int at = ((y * Size * Scale) + x) * 3;
        rgb[at] = (byte)(255 * Math.Min(1f, 3 * v));
        rgb[at + 1] = (byte)(255 * Math.Clamp((3 * v) - 1, 0f, 1f));
        rgb[at + 2] = (byte)(255 * Math.Clamp((3 * v) - 2, 0f, 1f));
    }
}
Png.Write(output, Size * Scale, Size * Scale, rgb);
Console.WriteLine($"wrote {output} ({Size * Scale}x{Size * Scale})");
