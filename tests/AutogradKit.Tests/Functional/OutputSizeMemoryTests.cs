using AutogradKit.Tests.Support;
using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Tests.Functional;

/// <summary>
/// The vectorized Jacobian remembers each function's output size, so that a second call skips the forward pass
/// that learns it; a remembered size that has gone stale must never change the answer.
/// </summary>
public class OutputSizeMemoryTests
{
    /// <summary>d/dx of 2·x[…, :k] is 2 on the first k columns of the identity: 2·[I_k | 0], k×n.</summary>
    private static Tensor Expected(long k, long n, Device device) =>
        torch.eye(n, dtype: ScalarType.Float64, device: device).narrow(0, 0, k) * 2;

    private static void AssertSame(Tensor actual, Tensor expected)
    {
        Assert.That(actual.shape, Is.EqualTo(expected.shape));
        Assert.That(actual.cpu().data<double>().ToArray(), Is.EqualTo(expected.cpu().data<double>().ToArray()));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void JacobianVectorized_SecondCallRunsFunctionOnce_AndNoticesAChangedOutputSize(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        int calls = 0;
        long k = 3;
        // Batch-friendly (works on the last dimension); its output size depends on k, which the test changes.
        Tensor FirstK(Tensor x)
        {
            calls++;
            return x.narrow(-1, 0, k) * 2;
        }
        Tensor x = torch.tensor(new[] { 0.5, -1.0, 2.0, 4.0 }, device: device);

        Tensor first = Autograd.Functional.Jacobian(FirstK, x, vectorize: true);
        Assert.That(calls, Is.EqualTo(2), "first call: a no-grad pass to learn the output size, then the batch");
        AssertSame(first, Expected(3, 4, device));

        calls = 0;
        Tensor second = Autograd.Functional.Jacobian(FirstK, x, vectorize: true);
        Assert.That(calls, Is.EqualTo(1), "same function, same input shape: the batch alone");
        AssertSame(second, Expected(3, 4, device));

        k = 2;
        calls = 0;
        Tensor changed = Autograd.Functional.Jacobian(FirstK, x, vectorize: true);
        Assert.That(calls, Is.EqualTo(3), "the remembered size was stale: batch, learn again, batch");
        Assert.That(changed.shape, Is.EqualTo(new long[] { 2, 4 }));
        AssertSame(changed, Expected(2, 4, device));

        calls = 0;
        Tensor longer = Autograd.Functional.Jacobian(FirstK, torch.zeros(6, dtype: ScalarType.Float64, device: device), vectorize: true);
        Assert.That(calls, Is.EqualTo(2), "another input shape is not remembered");
        AssertSame(longer, Expected(2, 6, device));
    }

    [TestCaseSource(typeof(DeviceCases), nameof(DeviceCases.All))]
    public void JacobianVectorized_RemembersPerFunction(string deviceName)
    {
        Device device = DeviceCases.Device(deviceName);
        Tensor x = torch.tensor(new[] { 1.0, 2.0 }, device: device);
        // Same input shape, different output sizes: one function's size must not be used for the other.
        Tensor j1 = Autograd.Functional.Jacobian(t => t * 3, x, vectorize: true);
        Tensor j2 = Autograd.Functional.Jacobian(t => (t * t).sum(-1, keepdim: true), x, vectorize: true);
        Tensor j1Again = Autograd.Functional.Jacobian(t => t * 3, x, vectorize: true);

        AssertSame(j1, torch.eye(2, dtype: ScalarType.Float64, device: device) * 3);
        Assert.That(j2.shape, Is.EqualTo(new long[] { 1, 2 }));
        Assert.That(j2.cpu().data<double>().ToArray(), Is.EqualTo(new[] { 2.0, 4.0 }));
        AssertSame(j1Again, j1);
    }
}
