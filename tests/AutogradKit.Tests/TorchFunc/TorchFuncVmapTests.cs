using NUnit.Framework;
using TorchSharp;
using static TorchSharp.torch;
using TF = AutogradKit.TorchFunc;

namespace AutogradKit.Tests.TorchFunc;

public class TorchFuncVmapTests
{
    private static IEnumerable<TestCaseData> VmapRows() => TorchFuncData.Rows("vmap");

    [TestCaseSource(nameof(VmapRows))]
    public void Vmap_Case_EqualsFunctorch(int index)
    {
        using var scope = torch.NewDisposeScope();
        var c = TorchFuncData.Section("vmap")[index];
        Tensor[] inputs = c.GetProperty("inputs").EnumerateArray().Select(TorchFuncData.ToTensor).ToArray();
        int?[] inDims = TorchFuncData.InDims(c);
        int outDim = c.GetProperty("out_dim").GetInt32();

        Tensor output = TF.Vmap(TorchFuncData.Mapped(c.GetProperty("name").GetString()!), inDims, outDim)(inputs);

        TorchFuncData.AssertClose(output, TorchFuncData.ToTensor(c.GetProperty("output")));
    }

    [Test]
    public void Vmap_SingleInput_HidesTheMappedDimension()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.linspace(-2, 2, 12, dtype: ScalarType.Float64).reshape(3, 4);
        long[]? seen = null;

        Tensor y = TF.Vmap(e =>
        {
            seen = e.shape;
            return e.sin();
        })(x);

        Assert.That(seen, Is.EqualTo(new long[] { 4 }));
        TorchFuncData.AssertClose(y, TorchFuncData.ToTensor(TorchFuncData.Section("vmap")[0].GetProperty("output")));
    }

    [Test]
    public void Vmap_SeveralOutputs_EqualsFunctorch()
    {
        using var scope = torch.NewDisposeScope();
        var c = TorchFuncData.Section("vmap_multi")[0];
        Tensor[] inputs = c.GetProperty("inputs").EnumerateArray().Select(TorchFuncData.ToTensor).ToArray();
        int[] outDims = c.GetProperty("out_dims").EnumerateArray().Select(e => e.GetInt32()).ToArray();

        Tensor[] outputs = TF.Vmap(a => [a[0].sin() + a[1], a[0].cos()], TorchFuncData.InDims(c), outDims)(inputs);

        Tensor[] expected = c.GetProperty("outputs").EnumerateArray().Select(TorchFuncData.ToTensor).ToArray();
        Assert.That(outputs, Has.Length.EqualTo(2));
        TorchFuncData.AssertClose(outputs[0], expected[0], "first");
        TorchFuncData.AssertClose(outputs[1], expected[1], "second");
    }

    [Test]
    public void Vmap_Nested_EqualsFunctorch()
    {
        using var scope = torch.NewDisposeScope();
        var c = TorchFuncData.Section("vmap_nested");

        Tensor output = TF.Vmap(TF.Vmap(x => x * x.sum()))(TorchFuncData.ToTensor(c.GetProperty("input")));

        TorchFuncData.AssertClose(output, TorchFuncData.ToTensor(c.GetProperty("output")));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(5)]
    public void Vmap_ChunkSize_EqualsUnchunked(int chunkSize)
    {
        using var scope = torch.NewDisposeScope();
        var c = TorchFuncData.Section("vmap")[6]; // outer_out1: two inputs, out_dim 1
        Tensor[] inputs = c.GetProperty("inputs").EnumerateArray().Select(TorchFuncData.ToTensor).ToArray();

        Tensor output = TF.Vmap(TorchFuncData.Mapped("outer_out1"), [0, 0], 1, chunkSize: chunkSize)(inputs);

        TorchFuncData.AssertClose(output, TorchFuncData.ToTensor(c.GetProperty("output")));
    }

    [Test]
    public void Vmap_ChunkSizeZero_PyTorchsError()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => TF.Vmap(x => x, chunkSize: 0));
        Assert.That(e!.Message, Does.StartWith(TorchFuncData.Message("vmap_chunk_size")));
    }

    private static IEnumerable<TestCaseData> ArgumentErrors()
    {
        Tensor X34() => torch.ones(3, 4, dtype: ScalarType.Float64);
        yield return new TestCaseData("vmap_no_inputs", (Action)(() => TF.Vmap(F, [0])([])));
        yield return new TestCaseData("vmap_structure", (Action)(() => TF.Vmap(a => a[0], [0, null])([X34(), X34(), X34()])));
        yield return new TestCaseData("vmap_in_dim_range", (Action)(() => TF.Vmap(F1, inDim: 2)(X34())));
        yield return new TestCaseData("vmap_nothing_batched", (Action)(() => TF.Vmap(a => a[0] + a[1], [null, null])([X34(), X34()])));
        yield return new TestCaseData("vmap_sizes_differ", (Action)(() => TF.Vmap(a => a[0], [0, 0])([X34(), torch.ones(2, 4)])));
        yield return new TestCaseData("vmap_out_structure", (Action)(() => TF.Vmap(a => [a[0], a[0]], [0], [0, 0, 0])([X34()])));
    }

    private static Tensor F(Tensor[] a) => a[0];

    private static Tensor F1(Tensor a) => a;

    [TestCaseSource(nameof(ArgumentErrors))]
    public void Vmap_WrongInputs_ArgumentExceptionWithPyTorchsText(string key, Action call)
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => call());
        Assert.That(e!.Message, Does.StartWith(TorchFuncData.Message(key).Replace("vmap(f)", "vmap(F)").Replace("vmap(f,", "vmap(F1,")));
        Assert.That(NativeFunctorch.Depth, Is.Zero);
    }

    private static IEnumerable<TestCaseData> Refusals()
    {
        yield return new TestCaseData("vmap_item", (Func<Tensor, Tensor>)(a => a.item<double>() > 0 ? a : -a), new long[] { 3 });
        yield return new TestCaseData("vmap_random", (Func<Tensor, Tensor>)(a => a * torch.rand_like(a)), new long[] { 3, 4 });
        yield return new TestCaseData("vmap_inplace_unbatched", (Func<Tensor, Tensor>)(a => torch.ones(4, dtype: ScalarType.Float64).add_(a)), new long[] { 3, 4 });
        yield return new TestCaseData("vmap_out_dim_range", (Func<Tensor, Tensor>)(a => a), new long[] { 3, 4 });
    }

    [TestCaseSource(nameof(Refusals))]
    public void Vmap_WhatPyTorchRefuses_AutogradExceptionAndTheNextCallWorks(string key, Func<Tensor, Tensor> f, long[] shape)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(shape, dtype: ScalarType.Float64);
        int outDim = key == "vmap_out_dim_range" ? 5 : 0;

        var e = Assert.Throws<AutogradException>(() => TF.Vmap(f, outDim: outDim)(x));

        Assert.That(e!.Message, Is.EqualTo(TorchFuncData.Message(key)));
        Assert.That(NativeFunctorch.Depth, Is.Zero);
        TorchFuncData.AssertClose(TF.Vmap(a => a.cos())(x), x.cos(), "next call");
    }

    [Test]
    public void Vmap_FunctionThrows_ExceptionPassesAndLevelsAreClosed()
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.ones(3, 4);

        Assert.Throws<FormatException>(() => TF.Vmap(TF.Vmap(a => throw new FormatException("mine")))(torch.ones(2, 3, 4)));

        Assert.That(NativeFunctorch.Depth, Is.Zero);
        TorchFuncData.AssertClose(TF.Vmap(a => a * 2)(x), x * 2, "next call");
    }

    [TestCase(Randomness.Different)]
    [TestCase(Randomness.Same)]
    public void Vmap_RandomnessAllowed_DrawsPerExampleOrShared(Randomness randomness)
    {
        using var scope = torch.NewDisposeScope();
        Tensor x = torch.zeros(4, 3, dtype: ScalarType.Float64);

        Tensor y = TF.Vmap(a => a + torch.rand_like(a), randomness: randomness)(x);

        bool rowsEqual = y[0].allclose(y[1], 0, 0) && y[1].allclose(y[2], 0, 0);
        Assert.That(rowsEqual, Is.EqualTo(randomness == Randomness.Same));
    }

    [Test]
    public void Vmap_ReturnsNull_PyTorchsText()
    {
        using var scope = torch.NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => TF.Vmap(Null)(torch.ones(3)));
        Assert.That(e!.Message, Does.StartWith("vmap(Null, ...): `Null` must only return Tensors, got type <class 'NoneType'> as a return."));
        Assert.That(NativeFunctorch.Depth, Is.Zero);
    }

    private static Tensor Null(Tensor x) => null!;
}
