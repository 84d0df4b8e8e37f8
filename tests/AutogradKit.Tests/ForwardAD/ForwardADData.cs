using System.Text.Json;
using AutogradKit.Tests.Support;
using NUnit.Framework;

namespace AutogradKit.Tests.ForwardAD;

/// <summary>forward_ad.json, made by TestData/generate_forward_ad.py with real PyTorch.</summary>
internal static class ForwardADData
{
    private static JsonElement Root => Support.TestDataFiles.Json("forward_ad.json");

    public static JsonElement Cases => Root.GetProperty("cases");

    public static string Message(string key) => Root.GetProperty("messages").GetProperty(key).GetString()!;

    /// <summary>Each case index once per device.</summary>
    public static IEnumerable<TestCaseData> CaseRows() =>
        DeviceCases.Cross(Enumerable.Range(0, Cases.GetArrayLength()).Select(i => new object?[] { i }),
            row => $"{row[0]}:{Cases[(int)row[0]!].GetProperty("function").GetString()}");
}
