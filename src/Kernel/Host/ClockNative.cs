using System.Runtime.InteropServices;

namespace RumpFs.Kernel.Host;

/// <summary>clock_gettime(2): Tmds.LibC does not bind it, and DateTime has only 100 ns ticks.</summary>
internal static partial class ClockNative
{
    public const int CLOCK_REALTIME = 0;

    [StructLayout(LayoutKind.Sequential)]
    public struct NativeTimespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int clock_gettime(int clockId, out NativeTimespec ts);
}
