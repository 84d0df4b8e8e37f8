using TorchSharp;
using static TorchSharp.torch;

namespace AutogradKit.Misuse;

/// <summary>Wrong saved-tensor hooks: pack and unpack functions that throw or return nonsense inside libtorch's operations and engine.</summary>
internal static partial class MisuseCases
{
    /// <summary>What a misbehaving pack/unpack pair does, picked at random per call.</summary>
    private enum SavedFault
    {
        None, ThrowInPack, ThrowInUnpack, UnpackNull, UnpackWrongShape, UnpackWrongDType, UnpackDisposed, PackInPlace,
        UnpackMeta, NestedThrowInPack,
    }

    private static void AddSavedTensorsCases(Action<string, Action<Random>> add)
    {
        SavedFault[] faults = Enum.GetValues<SavedFault>();
        add("Saved-tensor hooks that misbehave, through Backward, Grad or TorchSharp's own backward", r =>
        {
            SavedFault fault = Pick(r, faults);
            Exception? thrown = null;
            Exception Throw() => thrown ??= new InvalidOperationException($"user code failed ({fault})"); // the first one wins, as for hooks
            Func<Tensor, object> pack = t => fault switch
            {
                SavedFault.ThrowInPack => throw Throw(),
                SavedFault.PackInPlace => t.mul_(1),
                _ => t,
            };
            Func<object, Tensor> unpack = o => fault switch
            {
                SavedFault.ThrowInUnpack => throw Throw(),
                SavedFault.UnpackNull => null!,
                SavedFault.UnpackWrongShape => torch.ones(7, dtype: ((Tensor)o).dtype),
                SavedFault.UnpackWrongDType => ((Tensor)o).to(ScalarType.Int64),
                SavedFault.UnpackDisposed => Disposed((Tensor)o),
                SavedFault.UnpackMeta => torch.empty(3, device: new Device(DeviceType.META)),
                _ => (Tensor)o,
            };
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            int how = r.Next(3);
            try
            {
                Tensor y;
                using (Autograd.Graph.SavedTensorsHooks(pack, unpack))
                {
                    y = fault == SavedFault.NestedThrowInPack ? Nested(x, Throw) : (x.exp() * x).sum();
                }
                switch (how)
                {
                    case 0: y.Backward(); break;
                    case 1: Autograd.Grad([y], [x]); break;
                    default: y.backward(); break; // TorchSharp's own: its own exception type, never an abort
                }
            }
            catch (Exception e) when (thrown is not null)
            {
                Require(ReferenceEquals(e, thrown) || how == 2, $"got {e.GetType().Name} ({e.Message.Split('\n')[0]}) instead of the user's exception");
            }
            catch (AutogradException) when (fault != SavedFault.None)
            {
            }
            catch (System.Runtime.InteropServices.ExternalException) when (fault != SavedFault.None)
            {
            }
            catch (ObjectDisposedException) when (fault == SavedFault.UnpackDisposed)
            {
            }
            // The next pass with well-behaved hooks works.
            Tensor z = RandomTensor(r, FloatTypes, requiresGrad: true, shape: [3]);
            using (Autograd.Graph.SavedTensorsHooks(t => t, o => (Tensor)o))
            {
                (z * z).sum().Backward();
            }
            Require(z.grad is not null, "the next backward did not run");
        });
        add("Saved-tensor hooks scopes disposed out of order, disabled, or on another thread", r =>
        {
            IDisposable outer = Autograd.Graph.SavedTensorsHooks(t => t, o => (Tensor)o);
            IDisposable inner = r.Next(2) == 0 ? Autograd.Graph.SaveOnCpu(r.Next(2) == 0) : Autograd.NoGrad();
            ExpectAndContinue<InvalidOperationException>(outer.Dispose);
            inner.Dispose();
            outer.Dispose();
            using (Autograd.Graph.DisableSavedTensorsHooks("off"))
            {
                ExpectAndContinue<AutogradException>(() => Autograd.Graph.SavedTensorsHooks(t => t, o => (Tensor)o));
            }
        });
    }

    private static void AddCheckpointCases(Action<string, Action<Random>> add)
    {
        add("Checkpoint whose function throws or changes on the rerun, or whose input was disposed, under anomaly mode or not", r =>
        {
            int runs = 0;
            int fault = r.Next(5);
            bool reentrant = r.Next(2) == 0;
            Exception? thrown = null;
            Tensor x = RandomTensor(r, FloatTypes, requiresGrad: r.Next(4) != 0, shape: [3]);
            Tensor input = x * 1;
            Func<Tensor, Tensor> f = t => (++runs, fault) switch
            {
                ( > 1, 0) => throw (thrown ??= new InvalidOperationException("rerun failed")),
                ( > 1, 1) => t.exp().sin(),
                _ => t.exp(),
            };
            IDisposable? anomaly = r.Next(3) == 0 ? Autograd.DetectAnomaly() : null;
            try
            {
                Tensor y = Autograd.Checkpoint(f, input, useReentrant: reentrant).sum();
                if (fault == 2)
                {
                    input.Dispose();
                }
                switch (r.Next(3))
                {
                    case 0: y.Backward(); break;
                    case 1: Autograd.Grad([y], [x], allowUnused: true); break;
                    default: y.backward(); break;
                }
            }
            catch (Exception e) when (thrown is not null)
            {
                Require(ReferenceEquals(e, thrown) || e is System.Runtime.InteropServices.ExternalException, $"got {e.GetType().Name} instead of the user's exception");
            }
            catch (AutogradException)
            {
            }
            catch (ObjectDisposedException) when (fault == 2)
            {
            }
            catch (System.Runtime.InteropServices.ExternalException)
            {
            }
            finally
            {
                anomaly?.Dispose();
            }
        });
    }

    private static Tensor Nested(Tensor x, Func<Exception> thrown)
    {
        using (Autograd.Graph.SavedTensorsHooks(t => throw thrown(), o => (Tensor)o))
        {
            return (x * x).sum();
        }
    }

    private static Tensor Disposed(Tensor t)
    {
        Tensor copy = t.clone();
        copy.Dispose();
        return copy;
    }
}
