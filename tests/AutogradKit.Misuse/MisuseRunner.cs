using TorchSharp;

namespace AutogradKit.Misuse;

/// <summary>A misuse call: its name and what it does with the random source it is given.</summary>
internal sealed record MisuseCase(string Name, Action<Random> Run);

/// <summary>
/// A call broke the contract without throwing a wrong type: it succeeded where docs/api.md says it must throw,
/// or threw a documented type other than the one docs/api.md names. Never documented, so always reported.
/// </summary>
internal sealed class ContractViolation(string message) : Exception(message);

/// <summary>Runs the cases in a seeded random order and judges each outcome.</summary>
internal sealed class MisuseRunner(int seed)
{
    private readonly Random _random = new(seed);
    private readonly Dictionary<string, int> _outcomes = [];
    private readonly List<string> _failures = [];

    public int Run(int calls)
    {
        IReadOnlyList<MisuseCase> cases = MisuseCases.All();
        Program.Log($"misuse: seed {seed}, {calls} calls over {cases.Count} cases");
        int succeeded = 0;
        int documented = 0;
        for (int i = 0; i < calls; i++)
        {
            MisuseCase c = cases[_random.Next(cases.Count)];
            Program.Log($"CALL {i} {c.Name}");
            string outcome;
            try
            {
                using (torch.NewDisposeScope())
                {
                    c.Run(_random);
                }
                succeeded++;
                outcome = "ok";
            }
            catch (Exception e) when (IsDocumented(e))
            {
                documented++;
                outcome = e.GetType().Name;
                if (!IsClean(e.Message))
                {
                    Fail(i, c, $"{e.GetType().Name} with a message that is not clean: {e.Message}");
                }
            }
            catch (Exception e)
            {
                outcome = "UNDOCUMENTED " + e.GetType().Name;
                Fail(i, c, $"{e.GetType().FullName}: {e.Message}");
            }
            CheckState(i, c);
            Count($"{c.Name} -> {outcome}");
        }

        Program.Log("outcomes (case -> result: count):");
        foreach ((string key, int count) in _outcomes.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Program.Log($"  {key}: {count}");
        }
        Program.Log($"misuse: {calls} calls, {succeeded} succeeded, {documented} threw documented exceptions, {_failures.Count} failures");
        foreach (string failure in _failures)
        {
            Program.Log("FAIL " + failure);
        }
        return _failures.Count == 0 ? 0 : 3;
    }

    /// <summary>
    /// The exception types AutogradKit documents: the ArgumentException family, the InvalidOperationException
    /// family (ObjectDisposedException and AutogradException are in it) and NotSupportedException.
    /// </summary>
    public static bool IsDocumented(Exception e) =>
        e is ArgumentException or InvalidOperationException or NotSupportedException;

    // PyTorch's first line, never libtorch's C++ context.
    private static bool IsClean(string message) =>
        !message.Contains("Exception raised from", StringComparison.Ordinal)
        && !message.Contains("frame #", StringComparison.Ordinal)
        && message.Length > 0;

    // Every case restores what it changed; a scope left open or a mode left switched is a failure.
    private void CheckState(int i, MisuseCase c)
    {
        if (!Autograd.IsGradEnabled || Autograd.IsInferenceModeEnabled || Autograd.IsAnomalyEnabled)
        {
            Fail(i, c, $"autograd state changed: grad {Autograd.IsGradEnabled}, inference {Autograd.IsInferenceModeEnabled}, anomaly {Autograd.IsAnomalyEnabled}");
            torch.set_grad_enabled(true);
        }
    }

    private void Fail(int i, MisuseCase c, string what)
    {
        string line = $"call {i} ({c.Name}): {what.Split('\n')[0]}";
        _failures.Add(line);
        Program.Log("  " + line);
    }

    private void Count(string key) => _outcomes[key] = _outcomes.GetValueOrDefault(key) + 1;
}
