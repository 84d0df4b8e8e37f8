using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;

namespace AutogradKit.Tests.Tensors;

/// <summary>PythonText.Float against Python's own <c>repr(float)</c> (gradcheck.json's float_reprs, from generate_gradcheck.py).</summary>
public class PythonTextTests
{
    private static IEnumerable<TestCaseData> FloatReprs() =>
        TestDataFiles.Json("gradcheck.json").GetProperty("float_reprs").EnumerateArray()
            .Select(p => new TestCaseData(p[0].GetDouble(), p[1].GetString()).SetName($"Float_PythonValue_IsPythonRepr({p[1].GetString()})"));

    [TestCaseSource(nameof(FloatReprs))]
    public void Float_PythonValue_IsPythonRepr(double value, string expected) =>
        Assert.That(PythonText.Float(value), Is.EqualTo(expected));
}
