using System.Text;
using Tmds.Linux;

namespace RumpFs.Tools.Ukfs;

/// <summary>Host calls .NET lacks: hard links, fifos and device nodes (get recreates them).</summary>
internal static unsafe class HostNodes
{
    private const uint S_IFIFO = 0x1000;
    private const uint S_IFCHR = 0x2000;
    private const uint S_IFBLK = 0x6000;
    private const uint S_IFSOCK = 0xC000;

    /// <summary>link(2); an error message, or null on success.</summary>
    public static string? Link(string existing, string newPath)
    {
        byte[] a = Z(existing), b = Z(newPath);
        fixed (byte* pa = a, pb = b)
        {
            return LibC.link(pa, pb) == 0 ? null : Describe();
        }
    }

    /// <summary>mknod(2) for a fifo (kind 'p') or a device ('c', 'b'); an error message, or null.</summary>
    public static string? Mknod(string path, char kind, uint mode, ulong rdev)
    {
        uint type = kind switch { 'p' => S_IFIFO, 'c' => S_IFCHR, _ => S_IFBLK };
        byte[] p = Z(path);
        fixed (byte* pp = p)
        {
            return LibC.mknod(pp, (mode_t)(type | (mode & 0xFFF)), (dev_t)rdev) == 0 ? null : Describe();
        }
    }

    public static bool IsRoot => LibC.geteuid() == 0;

    /// <summary>Whether S_IFMT bits <paramref name="type"/> (from <see cref="Lstat"/>) are a fifo, a device node or a socket.</summary>
    public static bool IsSpecial(uint type) => type is S_IFIFO or S_IFCHR or S_IFBLK or S_IFSOCK;

    /// <summary>lstat(2): the S_IFMT type bits, inode, device, link count, owner; null when it fails.</summary>
    public static (uint Type, ulong Ino, ulong Dev, ulong Nlink, uint Uid, uint Gid)? Lstat(string path)
    {
        byte[] p = Z(path);
        stat st;
        fixed (byte* pp = p)
        {
            if (LibC.lstat(pp, &st) != 0)
            {
                return null;
            }
        }
        return ((uint)st.st_mode & 0xF000, (ulong)st.st_ino, (ulong)st.st_dev, (ulong)st.st_nlink, (uint)st.st_uid, (uint)st.st_gid);
    }

    private static string Describe() => new System.ComponentModel.Win32Exception(LibC.errno).Message;

    private static byte[] Z(string s)
    {
        byte[] b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, b);
        return b;
    }
}
