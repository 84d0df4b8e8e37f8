using System.Runtime.InteropServices;
using System.Text;

namespace AutogradKit;

/// <summary>
/// Itanium C++ ABI <c>std::type_info</c> objects for the C++ classes AutogradKit builds in unmanaged memory, so that a
/// <c>typeid</c> or <c>dynamic_cast</c> libtorch might apply to them finds a well-formed answer (a class that is none of
/// libtorch's) instead of a null pointer.
/// </summary>
/// <remarks>Thread-safe; each object is made once per class and never freed.</remarks>
internal static unsafe class TypeInfo
{
    private const string ClassTypeInfoVtable = "_ZTVN10__cxxabiv117__class_type_infoE";
    private const string SingleInheritanceTypeInfoVtable = "_ZTVN10__cxxabiv120__si_class_type_infoE";

    /// <summary>A <c>__class_type_info</c> (vptr, name) for a class without bases, named by its mangled <paramref name="name"/>.</summary>
    internal static IntPtr Make(string name) => Build(ClassTypeInfoVtable, name, IntPtr.Zero);

    /// <summary>A <c>__si_class_type_info</c> (vptr, name, base) for a class derived from the class of <paramref name="baseTypeInfo"/>.</summary>
    internal static IntPtr MakeDerived(string name, IntPtr baseTypeInfo) => Build(SingleInheritanceTypeInfoVtable, name, baseTypeInfo);

    private static IntPtr Build(string vtableSymbol, string name, IntPtr baseTypeInfo)
    {
        IntPtr runtime = NativeLibrary.Load(Libraries.CxxRuntime, typeof(TypeInfo).Assembly, null);
        // The ABI's type_info vtable pointer points past offset-to-top and the vtable's own type_info.
        IntPtr vptr = NativeLibrary.GetExport(runtime, vtableSymbol) + 2 * IntPtr.Size;
        byte[] bytes = Encoding.ASCII.GetBytes(name + "\0");
        var text = (byte*)NativeMemory.Alloc((nuint)bytes.Length);
        bytes.CopyTo(new Span<byte>(text, bytes.Length));
        var info = (IntPtr*)NativeMemory.AllocZeroed((nuint)(3 * IntPtr.Size));
        info[0] = vptr;
        info[1] = (IntPtr)text;
        info[2] = baseTypeInfo;
        return (IntPtr)info;
    }
}
