using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit;

public static partial class Autograd
{
    /// <summary>
    /// <c>torch.autograd.forward_ad</c>: forward-mode automatic differentiation. Inside a
    /// <see cref="DualLevel"/> scope, a tensor made dual with <see cref="MakeDual"/> carries a tangent through every
    /// operation, and <see cref="UnpackDual"/> reads the result's tangent: the Jacobian-vector product, in one pass.
    /// </summary>
    /// <remarks>
    /// <para>Dual levels are process-wide in libtorch, as <c>forward_ad</c>'s current level is in PyTorch: one
    /// level at a time for the whole process (PyTorch does not support nesting them), seen by every thread; the
    /// scope may be disposed on any thread. Opening a second level while one is open throws PyTorch's
    /// "Nested forward mode AD is not supported at the moment" and changes nothing.</para>
    /// <para>Thread-safety: all members may be called from any thread.</para>
    /// </remarks>
    /// <example>
    /// <code>
    /// using (Autograd.ForwardAD.DualLevel())
    /// {
    ///     Tensor dual = Autograd.ForwardAD.MakeDual(x, v);
    ///     var (y, jvp) = Autograd.ForwardAD.UnpackDual(f(dual));   // jvp = J(x) · v
    /// }
    /// </code>
    /// </example>
    public static class ForwardAD
    {
        private static readonly Lock Gate = new();

        // The open level's index, or -1: forward_ad._current_level.
        private static long s_level = -1;

        /// <summary>The index of the open dual level, or -1 when none is open (<c>forward_ad._current_level</c>).</summary>
        internal static long CurrentLevel => Volatile.Read(ref s_level);

        /// <summary>
        /// <c>with fwAD.dual_level():</c> — opens a forward-AD level until the scope is disposed; disposing it
        /// deletes every tangent made at that level.
        /// </summary>
        /// <returns>A scope that closes the level when disposed, on any thread; a second dispose does nothing.</returns>
        /// <exception cref="AutogradException">A level is already open: "Nested forward mode AD is not supported at the moment".</exception>
        public static IDisposable DualLevel() =>
            TryDualLevel() ?? throw new AutogradException("Nested forward mode AD is not supported at the moment");

        /// <summary>Opens a dual level as <see cref="DualLevel"/> does, or returns null when one is already open.</summary>
        internal static IDisposable? TryDualLevel()
        {
            LibTorchLoader.EnsureLoaded();
            lock (Gate)
            {
                if (s_level >= 0)
                {
                    return null;
                }
                long level = NativeForwardAD.EnterLevel();
                if (level != 0)
                {
                    // Someone else opened a level in libtorch behind our back: give ours back, as PyTorch refuses it.
                    NativeForwardAD.ExitLevel(level);
                    throw new AutogradException("Entering a new forward AD level but the current level is not valid. Make sure you did not modified it directly.");
                }
                Volatile.Write(ref s_level, level);
                return new DualLevelScope(level);
            }
        }

        /// <summary>
        /// <c>fwAD.make_dual(tensor, tangent)</c>: a new tensor aliasing <paramref name="primal"/> whose tangent at
        /// the open level is <paramref name="tangent"/> (kept as it is when its layout matches, else copied).
        /// Backward-differentiable.
        /// </summary>
        /// <param name="primal">The value; floating point or complex.</param>
        /// <param name="tangent">Its forward gradient: the same size, floating point or complex.</param>
        /// <returns>The dual tensor; the caller owns it.</returns>
        /// <exception cref="ArgumentNullException">An argument is null.</exception>
        /// <exception cref="ObjectDisposedException">An argument was disposed.</exception>
        /// <exception cref="ArgumentException">A dtype is not floating point or complex (PyTorch's <c>ValueError</c>).</exception>
        /// <exception cref="AutogradException">No level is open, the sizes differ, or <paramref name="primal"/>
        /// already has a tangent at this level (libtorch's message).</exception>
        public static Tensor MakeDual(Tensor primal, Tensor tangent)
        {
            ArgumentNullException.ThrowIfNull(primal);
            ArgumentNullException.ThrowIfNull(tangent);
            TensorArguments.Live(primal, nameof(primal));
            TensorArguments.Live(tangent, nameof(tangent));
            LibTorchLoader.EnsureLoaded();
            long level = CurrentLevel;
            if (level < 0)
            {
                throw new AutogradException("Trying to create a dual Tensor for forward AD but no level exists, make sure to enter_dual_level() first.");
            }
            if (!TensorArguments.HasDifferentiableDtype(primal))
            {
                throw new ArgumentException($"Expected primal to be floating point or complex, but got: {PythonText.DType(primal.dtype)}", nameof(primal));
            }
            if (!TensorArguments.HasDifferentiableDtype(tangent))
            {
                throw new ArgumentException($"Expected tangent to be floating point or complex, but got: {PythonText.DType(tangent.dtype)}", nameof(tangent));
            }
            return NativeForwardAD.MakeDual(primal, tangent, level);
        }

        /// <summary>
        /// <c>fwAD.unpack_dual(tensor)</c>: <paramref name="t"/>'s value and its tangent at the open level.
        /// </summary>
        /// <param name="t">Any tensor.</param>
        /// <returns>
        /// Inside a level, a new view of the primal and the tangent as it is (null when <paramref name="t"/> has
        /// none), both owned by the caller. With no level open, <paramref name="t"/> itself and null, as PyTorch
        /// returns — do not dispose that primal unless you mean to dispose <paramref name="t"/>.
        /// </returns>
        /// <exception cref="ArgumentNullException"><paramref name="t"/> is null.</exception>
        /// <exception cref="ObjectDisposedException"><paramref name="t"/> was disposed.</exception>
        public static UnpackedDual UnpackDual(Tensor t)
        {
            ArgumentNullException.ThrowIfNull(t);
            TensorArguments.Live(t, nameof(t));
            LibTorchLoader.EnsureLoaded();
            long level = CurrentLevel;
            if (level < 0)
            {
                return new UnpackedDual(t, null);
            }
            (Tensor primal, Tensor? tangent) = NativeForwardAD.UnpackDual(t, level);
            return new UnpackedDual(primal, tangent);
        }

        /// <summary>Closes <paramref name="level"/> if it is still the open one; used by <see cref="DualLevelScope"/>.</summary>
        internal static void Exit(long level)
        {
            lock (Gate)
            {
                if (s_level != level)
                {
                    throw new AutogradException("Trying to exit a forward AD level that was not the last one that was created. This is not supported.");
                }
                NativeForwardAD.ExitLevel(level);
                Volatile.Write(ref s_level, -1);
            }
        }
    }
}
