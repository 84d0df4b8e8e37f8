using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

/// <summary>
/// The full backward hooks of one module, PyTorch's <c>torch.utils.hooks.BackwardHook</c>: TorchSharp forward pre- and
/// post-hooks wrap the module's input and output in <see cref="BackwardHookFunction"/>; a node pre-hook on the output's
/// node sees grad_output (and runs the backward pre-hooks), a node post-hook on the input's node sees grad_input and runs
/// the backward hooks.
/// </summary>
/// <remarks>
/// Thread-safe: hooks may be added and removed on any thread; a module may run forward on several threads at once (each
/// call keeps its own state). Forward hooks are installed on the module while it has at least one backward hook.
/// </remarks>
internal sealed class ModuleBackwardHooks
{
    private static readonly ConditionalWeakTable<nn.Module<Tensor, Tensor>, ModuleBackwardHooks> ByModule = [];

    // The forward calls in flight on this thread, innermost last: a pre-hook's state for its post-hook.
    [ThreadStatic]
    private static List<(ModuleBackwardHooks Owner, Call State)>? s_calls;

    private readonly Lock _gate = new();
    private readonly nn.Module<Tensor, Tensor> _module;
    private readonly List<(long Key, Func<nn.Module, Tensor?[], Tensor?[], Tensor?[]?> Hook)> _hooks = [];
    private readonly List<(long Key, Func<nn.Module, Tensor?[], Tensor?[]?> Hook)> _preHooks = [];
    private long _lastKey;
    private nn.Module<Tensor, Tensor>.HookRemover? _forwardPre;
    private nn.Module<Tensor, Tensor>.HookRemover? _forwardPost;

    private ModuleBackwardHooks(nn.Module<Tensor, Tensor> module) => this._module = module;

    /// <summary>One forward call's state: whether its input was wrapped, and the grad_output its backward saw.</summary>
    private sealed class Call
    {
        public bool InputWrapped;
        public Tensor?[]? GradOutputs;

        public void ClearGradOutputs()
        {
            foreach (Tensor? t in Interlocked.Exchange(ref GradOutputs, null) ?? [])
            {
                t?.Dispose();
            }
        }
    }

    /// <summary>Adds a backward hook (<paramref name="hook"/>) or pre-hook (<paramref name="preHook"/>) to <paramref name="module"/>.</summary>
    public static IDisposable Add(nn.Module<Tensor, Tensor> module, Func<nn.Module, Tensor?[], Tensor?[], Tensor?[]?>? hook, Func<nn.Module, Tensor?[], Tensor?[]?>? preHook)
    {
        ModuleBackwardHooks state = ByModule.GetValue(module, m => new ModuleBackwardHooks(m));
        long key;
        lock (state._gate)
        {
            key = ++state._lastKey;
            if (hook is not null)
            {
                state._hooks.Add((key, hook));
            }
            else
            {
                state._preHooks.Add((key, preHook!));
            }
            if (state._forwardPre is null)
            {
                state._forwardPre = module.register_forward_pre_hook(state.BeforeForward);
                state._forwardPost = module.register_forward_hook(state.AfterForward);
            }
        }
        return new HookHandle(() => state.Remove(key));
    }

    private void Remove(long key)
    {
        lock (_gate)
        {
            _hooks.RemoveAll(h => h.Key == key);
            _preHooks.RemoveAll(h => h.Key == key);
            if (_hooks.Count == 0 && _preHooks.Count == 0 && _forwardPre is not null)
            {
                _forwardPre.remove();
                _forwardPost!.remove();
                _forwardPre = _forwardPost = null;
            }
        }
    }

    private (Func<nn.Module, Tensor?[], Tensor?[], Tensor?[]?>[] Hooks, Func<nn.Module, Tensor?[], Tensor?[]?>[] PreHooks) Snapshot()
    {
        lock (_gate)
        {
            return ([.. _hooks.Select(h => h.Hook)], [.. _preHooks.Select(h => h.Hook)]);
        }
    }

    // PyTorch's setup_input_hook.
    private Tensor BeforeForward(nn.Module<Tensor, Tensor> m, Tensor input)
    {
        var call = new Call();
        (s_calls ??= []).Add((this, call));
        if (!input.requires_grad || !torch.is_grad_enabled())
        {
            return input;
        }
        Tensor wrapped = BackwardHookFunction.Instance.Apply(input)[0];
        call.InputWrapped = true;
        wrapped.GradFn!.RegisterHook((gradInputs, _) => RunHooks(call, gradInputs));
        return wrapped;
    }

    // PyTorch's setup_output_hook.
    private Tensor AfterForward(nn.Module<Tensor, Tensor> m, Tensor input, Tensor output)
    {
        Call call = TakeCall();
        if (!output.requires_grad || !torch.is_grad_enabled())
        {
            return output;
        }
        Tensor wrapped = BackwardHookFunction.Instance.Apply(output)[0];
        wrapped.GradFn!.RegisterPrehook(gradOutputs => SeeGradOutputs(call, gradOutputs));
        return wrapped;
    }

    private Call TakeCall()
    {
        // The innermost call of this module; calls above it are forwards that threw before their post-hook.
        List<(ModuleBackwardHooks Owner, Call State)> stack = s_calls!;
        int i = stack.FindLastIndex(c => c.Owner == this);
        Call call = stack[i].State;
        stack.RemoveRange(i, stack.Count - i);
        return call;
    }

    private Tensor?[]? SeeGradOutputs(Call call, Tensor?[] gradOutputs)
    {
        (var userHooks, var userPreHooks) = Snapshot();
        Tensor?[] current = gradOutputs;
        bool replaced = false;
        foreach (var preHook in userPreHooks)
        {
            if (preHook(_module, current) is not { } result)
            {
                continue;
            }
            if (result.Length != current.Length)
            {
                throw new AutogradException($"Backward pre hook returned an invalid number of grad_output, got {result.Length}, but expected {current.Length}");
            }
            current = result;
            replaced = true;
        }
        // Kept for the input node's hook: the wrappers handed to this hook are disposed when it returns.
        call.ClearGradOutputs();
        call.GradOutputs = [.. current.Select(g => g?.alias().DetachFromDisposeScope())];
        if (!call.InputWrapped)
        {
            // No input requires grad: the backward hooks run here, with grad_input all None.
            var gradInputs = new Tensor?[1];
            foreach (var hook in userHooks)
            {
                if (hook(_module, gradInputs, call.GradOutputs) is { } result && result.Any(g => g is not null))
                {
                    call.ClearGradOutputs();
                    throw new AutogradException("Backward hook for Modules where no input requires gradient should always return None or None for all gradients.");
                }
            }
            call.ClearGradOutputs();
        }
        return replaced ? current : null;
    }

    private Tensor?[]? RunHooks(Call call, Tensor?[] gradInputs)
    {
        Tensor?[]? gradOutputs = call.GradOutputs;
        if (gradOutputs is null)
        {
            // The gradient reached the module's input without passing through its output (double backward).
            return null;
        }
        try
        {
            Tensor?[] current = gradInputs;
            bool replaced = false;
            foreach (var hook in Snapshot().Hooks)
            {
                if (hook(_module, current, gradOutputs) is not { } result)
                {
                    continue;
                }
                if (result.Length != current.Length)
                {
                    throw new AutogradException($"Backward hook returned an invalid number of grad_input, got {result.Length}, but expected {current.Length}");
                }
                current = result;
                replaced = true;
            }
            return replaced ? current : null;
        }
        finally
        {
            call.ClearGradOutputs();
        }
    }
}
