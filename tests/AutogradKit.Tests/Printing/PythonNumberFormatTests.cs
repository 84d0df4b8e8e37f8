using System.Text.Json;
using NUnit.Framework;

namespace AutogradKit.Tests.Printing;

public class PythonNumberFormatTests
{
    /// <summary>The generated formats, one test a precision (every value at once: each test pays for a leak check).</summary>
    public static IEnumerable<TestCaseData> Formats() =>
        ReprCases.Formats.EnumerateArray().Select(f => f.GetProperty("precision").GetInt32()).Distinct().Order()
            .Select(p => new TestCaseData(p));

    [TestCaseSource(nameof(Formats))]
    public void FixedAndScientific_MatchPythonFormat(int precision)
    {
        Assert.Multiple(() =>
        {
            foreach (JsonElement f in ReprCases.Formats.EnumerateArray().Where(f => f.GetProperty("precision").GetInt32() == precision))
            {
                string value = f.GetProperty("value").GetString()!;
                double v = ReprCases.ParsePythonFloat(value);
                Assert.That(PythonNumberFormat.Fixed(v, precision), Is.EqualTo(f.GetProperty("fixed").GetString()), $"'{{:.{precision}f}}'.format({value})");
                Assert.That(PythonNumberFormat.Scientific(v, precision), Is.EqualTo(f.GetProperty("scientific").GetString()), $"'{{:.{precision}e}}'.format({value})");
            }
        });
    }

    // Edge cases named in the brief, checked against Python 3 by hand-run '{:.Nf}' / '{:.Ne}'.
    [TestCase(0.125, 2, "0.12", "1.25e-01")]
    [TestCase(0.375, 2, "0.38", "3.75e-01")]
    [TestCase(2.5, 0, "2", "2e+00")]
    [TestCase(1e-5, 4, "0.0000", "1.0000e-05")]
    [TestCase(1e10, 4, "10000000000.0000", "1.0000e+10")]
    [TestCase(-0.0, 4, "-0.0000", "-0.0000e+00")]
    [TestCase(1e100, 1, "10000000000000000159028911097599180468360808563945281389781327557747838772170381060813469985856815104.0", "1.0e+100")]
    [TestCase(double.NaN, 4, "nan", "nan")]
    [TestCase(double.NegativeInfinity, 4, "-inf", "-inf")]
    public void FixedAndScientific_EdgeCases(double value, int precision, string expectedFixed, string expectedScientific)
    {
        Assert.That(PythonNumberFormat.Fixed(value, precision), Is.EqualTo(expectedFixed));
        Assert.That(PythonNumberFormat.Scientific(value, precision), Is.EqualTo(expectedScientific));
    }

    /// <summary>
    /// The fast exact-rounding paths against .NET's exact formatting (itself checked against Python above) on values
    /// built to sit on or next to rounding ties: dyadic fractions, their neighbours, and random magnitudes.
    /// </summary>
    [Test]
    public void FastPaths_AgreeWithExactFormatting_OnTiesAndRandomValues()
    {
        var random = new Random(20240611);
        Span<char> fast = new char[PythonNumberFormat.MaxLength(30)];
        Span<char> exact = new char[PythonNumberFormat.MaxLength(30)];
        var values = new List<double>();
        for (int i = 0; i < 20000; i++)
        {
            double dyadic = random.Next(-1_000_000, 1_000_000) / Math.Pow(2, random.Next(0, 30));
            values.Add(dyadic);
            values.Add(Math.BitIncrement(dyadic));
            values.Add(Math.BitDecrement(dyadic));
            values.Add((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 30)));
            values.Add((float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-8, 10))));
            values.Add(Math.Round(random.NextDouble() * 1e6) / 1e4 + 0.00005);
        }
        foreach (double v in values)
        {
            int precision = random.Next(0, 13);
            int f = PythonNumberFormat.WriteFixed(v, precision, fast);
            int fe = PythonNumberFormat.WriteFixedExact(v, precision, exact);
            Assert.That(fast[..f].ToString(), Is.EqualTo(exact[..fe].ToString()), $"fixed {v:R} precision {precision}");
            int s = PythonNumberFormat.WriteScientific(v, precision, fast);
            int se = PythonNumberFormat.WriteScientificExact(v, precision, exact);
            Assert.That(fast[..s].ToString(), Is.EqualTo(exact[..se].ToString()), $"scientific {v:R} precision {precision}");
        }
    }
}
