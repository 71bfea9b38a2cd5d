using System.Runtime.InteropServices;
using System.Text;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// Extended attributes of host nodes, never through a symbolic link (llistxattr,
/// lgetxattr, lsetxattr). Tmds.LibC binds none of the three.
/// </summary>
internal static unsafe partial class HostXattrs
{
    private const int ERANGE = 34;
    private const int ENODATA = 61;
    private const int ENOTSUP = 95;

    /// <summary>"user" of "user.comment": the name space decides whether a format or a host stores an attribute.</summary>
    public static string NameSpace(string name) => name.Split('.', 2)[0];

    /// <summary>The attribute names of <paramref name="path"/>; empty when the host file system has none.</summary>
    public static IReadOnlyList<string> List(string path)
    {
        byte[]? raw = Read(() => llistxattr(Z(path), null, 0), (buffer, size) => llistxattr(Z(path), (byte*)buffer, size), out int errno);
        if (raw is null)
        {
            if (errno == ENOTSUP)
            {
                return [];
            }
            throw Failure(path, errno);
        }
        return Encoding.UTF8.GetString(raw).Split('\0', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>The value of <paramref name="name"/>; null when it went away since it was listed.</summary>
    public static byte[]? Get(string path, string name)
    {
        byte[]? value = Read(() => lgetxattr(Z(path), name, null, 0), (buffer, size) => lgetxattr(Z(path), name, (byte*)buffer, size), out int errno);
        if (value is null && errno != ENODATA)
        {
            throw Failure(path, errno);
        }
        return value;
    }

    /// <summary>Create or replace <paramref name="name"/>; an error message, or null on success.</summary>
    public static string? Set(string path, string name, byte[] value)
    {
        fixed (byte* v = value)
        {
            return lsetxattr(Z(path), name, v, (nuint)value.Length, 0) == 0
                ? null
                : new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError()).Message;
        }
    }

    /// <summary>The size-then-fill protocol of the *xattr calls; retried when the value grew in between.</summary>
    private static byte[]? Read(Func<nint> measure, Func<nint, nuint, nint> fill, out int errno)
    {
        for (int attempt = 0; ; attempt++)
        {
            nint size = measure();
            if (size < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                return null;
            }
            if (size == 0)
            {
                errno = 0;
                return [];
            }
            byte[] buffer = new byte[size];
            fixed (byte* b = buffer)
            {
                nint n = fill((nint)b, (nuint)buffer.Length);
                if (n >= 0)
                {
                    errno = 0;
                    return n == buffer.Length ? buffer : buffer[..(int)n];
                }
                errno = Marshal.GetLastPInvokeError();
                if (errno != ERANGE || attempt == 3)
                {
                    return null;
                }
            }
        }
    }

    // The path's bytes as they are (see HostFiles): a name that is not UTF-8 is kept.
    private static byte[] Z(string path) => HostFiles.Z(path);

    private static IOException Failure(string path, int errno) =>
        new($"{path}: extended attributes: {new System.ComponentModel.Win32Exception(errno).Message}");

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint llistxattr(byte[] path, byte* list, nuint size);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint lgetxattr(byte[] path, string name, byte* value, nuint size);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int lsetxattr(byte[] path, string name, byte* value, nuint size, int flags);
}
