using System.Reflection;
using BenchmarkDotNet.Attributes;
using static TorchSharp.torch;

namespace AutogradKit.Benchmarks.Interleaved;

/// <summary>
/// Runs BenchmarkDotNet classes outside BenchmarkDotNet: one instance a class, its [GlobalSetup] methods called
/// once when first asked for, its [GlobalCleanup] methods at <see cref="Dispose"/>. A [Benchmark] method becomes
/// a plain <see cref="Action"/> (a bound delegate, no reflection per call) that disposes a returned tensor, as
/// BenchmarkDotNet's own harness would leave it to the GC otherwise. Not thread-safe: one thread only (the
/// grad-mode scopes measured here are thread-bound anyway).
/// </summary>
public sealed class BenchmarkHost : IDisposable
{
    private readonly Dictionary<Type, object> _instances = [];

    /// <summary>The set-up instance of <paramref name="type"/>, created on first use.</summary>
    public object Instance(Type type)
    {
        if (!_instances.TryGetValue(type, out object? instance))
        {
            instance = Activator.CreateInstance(type)!;
            foreach (MethodInfo setup in MethodsWith<GlobalSetupAttribute>(type))
            {
                setup.Invoke(instance, null);
            }
            _instances[type] = instance;
        }
        return instance;
    }

    /// <summary>The parameterless method <paramref name="name"/> of <paramref name="instance"/> as an action.</summary>
    public static Action Action(object instance, string name)
    {
        MethodInfo method = instance.GetType().GetMethod(name, BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes)
            ?? throw new ArgumentException($"{instance.GetType().Name} has no public parameterless method {name}", nameof(name));
        if (method.ReturnType == typeof(void))
        {
            return method.CreateDelegate<Action>(instance);
        }
        if (method.ReturnType == typeof(Tensor))
        {
            var f = method.CreateDelegate<Func<Tensor>>(instance);
            return () => f().Dispose();
        }
        // bool, string, …: keep the result in a static field of its own type (no boxing), so it stays used.
        return (Action)typeof(BenchmarkHost).GetMethod(nameof(Keep), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(method.ReturnType)
            .Invoke(null, [method.CreateDelegate(typeof(Func<>).MakeGenericType(method.ReturnType), instance)])!;
    }

    private static Action Keep<T>(Func<T> f) => () => Sink<T>.Value = f();

    private static class Sink<T>
    {
        public static T? Value;
    }

    /// <summary>Calls every instance's [GlobalCleanup] methods.</summary>
    public void Dispose()
    {
        foreach ((Type type, object instance) in _instances)
        {
            foreach (MethodInfo cleanup in MethodsWith<GlobalCleanupAttribute>(type))
            {
                cleanup.Invoke(instance, null);
            }
        }
        _instances.Clear();
    }

    private static IEnumerable<MethodInfo> MethodsWith<TAttribute>(Type type)
        where TAttribute : Attribute
        => type.GetMethods(BindingFlags.Public | BindingFlags.Instance).Where(m => m.GetCustomAttribute<TAttribute>() is not null);
}
