using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Tmpfs;

/// <summary>
/// tmpfs: a complete file system in memory, the reference implementation of the vnode
/// contract. Options: size= (bytes, K/M/G suffixes; default half of physical memory),
/// nr_inodes=, mode=, uid=, gid= (of the root directory).
/// </summary>
public sealed class TmpfsDriver : IFileSystemDriver
{
    public string Name => "tmpfs";

    public bool NeedsDevice => false;

    public bool Probe(IBlockDevice device) => false;

    public Errno Mount(IBlockDevice? device, MountOptions options, out Mount? mount, out string? message)
    {
        mount = null;
        Errno e = TmpfsLimits.Parse(options, out TmpfsLimits limits, out message);
        if (e != Errno.OK)
        {
            return e;
        }
        mount = new TmpfsMount(options, limits);
        return Errno.OK;
    }
}

/// <summary>The tmpfs mount options.</summary>
internal sealed record TmpfsLimits(long MaxBytes, long MaxNodes, uint RootMode, uint RootUid, uint RootGid)
{
    public static Errno Parse(MountOptions options, out TmpfsLimits limits, out string? message)
    {
        message = null;
        long maxBytes = Math.Max(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2, 64L << 20);
        long maxNodes = -1;
        uint mode = 0x3FF; // 01777, as a fresh Linux tmpfs
        uint uid = 0, gid = 0;
        foreach (var (key, value) in options.Extra)
        {
            switch (key)
            {
                case "size" when value is not null && MountOptions.TryParseSize(value, out long bytes) && bytes > 0:
                    maxBytes = bytes;
                    break;
                case "nr_inodes" when value is not null && MountOptions.TryParseSize(value, out long n) && n > 0:
                    maxNodes = n;
                    break;
                case "mode" when value is not null && TryParseOctal(value, out uint m) && m <= 0xFFF:
                    mode = m;
                    break;
                case "uid" when uint.TryParse(value, out uint u):
                    uid = u;
                    break;
                case "gid" when uint.TryParse(value, out uint g):
                    gid = g;
                    break;
                default:
                    message = value is null ? $"tmpfs: unknown option '{key}'" : $"tmpfs: bad option '{key}={value}'";
                    limits = null!;
                    return Errno.EINVAL;
            }
        }
        if (maxNodes < 0)
        {
            maxNodes = Math.Max(maxBytes / 1024, 1024);
        }
        limits = new TmpfsLimits(maxBytes, maxNodes, mode, uid, gid);
        return Errno.OK;
    }

    private static bool TryParseOctal(string s, out uint value)
    {
        value = 0;
        if (s.Length == 0 || s.Length > 5)
        {
            return false;
        }
        foreach (char c in s)
        {
            if (c is < '0' or > '7')
            {
                return false;
            }
            value = (value * 8) + (uint)(c - '0');
        }
        return true;
    }
}
