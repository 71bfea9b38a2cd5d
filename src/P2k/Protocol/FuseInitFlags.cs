using RumpFs.Kernel;

namespace RumpFs.P2k.Protocol;

/// <summary>INIT flags (FUSE_* in linux/fuse.h); bits 32 and up travel in flags2.</summary>
internal static class FuseInitFlags
{
    public const ulong AsyncRead = 1UL << 0;
    public const ulong AtomicOTrunc = 1UL << 3;
    public const ulong ExportSupport = 1UL << 4;
    public const ulong BigWrites = 1UL << 5;
    public const ulong DontMask = 1UL << 6;
    public const ulong DoReaddirplus = 1UL << 13;
    public const ulong ReaddirplusAuto = 1UL << 14;
    public const ulong AsyncDio = 1UL << 15;
    public const ulong WritebackCache = 1UL << 16;
    public const ulong ParallelDirops = 1UL << 18;
    public const ulong PosixAcl = 1UL << 20;
    public const ulong MaxPages = 1UL << 22;
    public const ulong HandleKillprivV2 = 1UL << 28;
    public const ulong InitExt = 1UL << 30;
    public const ulong NoExportSupport = 1UL << 38;
}

/// <summary>
/// What INIT settled with the kernel. <paramref name="KernelMinor"/> is the minor the kernel
/// offered: the notifications it understands follow it, not the minor agreed on.
/// </summary>
internal sealed record FuseConnection(uint Major, uint Minor, ulong Flags, uint MaxWrite, uint MaxReadahead,
    uint KernelMinor = 0);

/// <summary>Protocol constants of this implementation.</summary>
internal static class FuseLimits
{
    public const uint KernelMajor = 7;

    /// <summary>The newest minor version whose structures this code knows.</summary>
    public const uint OurMinor = 40;

    /// <summary>The oldest minor accepted: 7.23 brought RENAME2, ctime in SETATTR and the full INIT reply.</summary>
    public const uint OldestMinor = 23;

    /// <summary>Largest WRITE payload asked for (max_pages 256 of 4 KiB).</summary>
    public const int MaxWrite = 1 << 20;

    public const ushort MaxPages = MaxWrite / 4096;

    /// <summary>
    /// A read buffer must hold the largest request: a WRITE of MaxWrite plus its headers
    /// (the kernel refuses reads into smaller buffers with EINVAL).
    /// </summary>
    public const int BufferSize = MaxWrite + 4096;

    /// <summary>EPROTO: the answer to an INIT whose protocol version is not supported.</summary>
    public const Errno EPROTO = (Errno)71;
}
