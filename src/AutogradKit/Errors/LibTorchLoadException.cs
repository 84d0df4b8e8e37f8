namespace AutogradKit;

/// <summary>libtorch or TorchSharp's native bridge could not be loaded on this machine.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class LibTorchLoadException : DllNotFoundException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="library">The file name of the library that failed.</param>
    /// <param name="path">Where it was found, or null when it was not found.</param>
    /// <param name="message">What failed and the dynamic loader's reason.</param>
    /// <param name="innerException">TorchSharp's own exception.</param>
    public LibTorchLoadException(string library, string? path, string message, Exception? innerException)
        : base(message, innerException)
    {
        Library = library;
        LibraryPath = path;
    }

    /// <summary>The file name of the library that failed, e.g. <c>libLibTorchSharp.so</c>.</summary>
    public string Library { get; }

    /// <summary>The full path that was tried, or null when the library was not found at all.</summary>
    public string? LibraryPath { get; }
}
