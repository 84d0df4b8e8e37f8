using System.Diagnostics;

namespace AutogradKit.Tests.Soak;

/// <summary>This process's resident memory: <c>/proc/self/statm</c> where there is one, else the working set.</summary>
internal static class ResidentMemory
{
    private static readonly long PageSize = Environment.SystemPageSize;

    /// <summary>Resident bytes now.</summary>
    public static long Bytes()
    {
        try
        {
            string[] fields = File.ReadAllText("/proc/self/statm").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * PageSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            using var self = Process.GetCurrentProcess();
            return self.WorkingSet64;
        }
    }

    /// <summary>Resident bytes after a full GC and the finalizers, so that only what is still referenced counts.</summary>
    public static long SettledBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return Bytes();
    }
}
