using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using RumpFs.Vfs;
using Tmds.Linux;

namespace RumpFs.Tools.Ukfs;

/// <summary>A host call that failed, with the path it was about: "PATH: reason".</summary>
internal sealed class HostIOException(string path, string reason) : IOException($"{path}: {reason}")
{
    public string Path { get; } = path;
}

/// <summary>
/// The host file calls of get and put, on names as bytes. .NET's own file calls encode and
/// list host names as UTF-8 only, so a Latin-1 "caf\xe9" from an image (or on the host)
/// would become U+FFFD and name nothing, or two names could land on one. Here a path is a
/// string in the <see cref="NameEncoding"/> form, and each call hands its exact bytes to
/// the host.
/// </summary>
internal static unsafe partial class HostFiles
{
    private const int AtFdCwd = -100;
    private const int FallocKeepSize = 1;
    private const int EEXIST = 17;
    private const int ENOSPC = 28;
    private const int EFBIG = 27;
    private const int EOPNOTSUPP = 95;
    private const int DNameOffset = 19; // struct dirent on glibc (x86-64, arm64): d_ino, d_off, d_reclen, d_type, d_name

    /// <summary>The NUL-terminated bytes of a path.</summary>
    public static byte[] Z(string path)
    {
        byte[] b = new byte[NameEncoding.GetByteCount(path) + 1];
        NameEncoding.GetBytes(path, b);
        return b;
    }

    /// <summary>Whether <paramref name="path"/> is a folder, following symbolic links (as test -d does).</summary>
    public static bool IsDirectory(string path)
    {
        stat st;
        fixed (byte* p = Z(path))
        {
            return LibC.stat(p, &st) == 0 && ((uint)st.st_mode & 0xF000) == 0x4000;
        }
    }

    /// <summary>Create <paramref name="path"/> and any missing parents (mkdir -p); an existing folder is fine.</summary>
    public static void CreateDirectories(string path)
    {
        if (IsDirectory(path))
        {
            return;
        }
        string? parent = System.IO.Path.GetDirectoryName(System.IO.Path.TrimEndingDirectorySeparator(path));
        if (!string.IsNullOrEmpty(parent))
        {
            CreateDirectories(parent);
        }
        fixed (byte* p = Z(path))
        {
            if (LibC.mkdir(p, 0x1FF) != 0 && !(LibC.errno == EEXIST && IsDirectory(path)))
            {
                throw Failure(path);
            }
        }
    }

    /// <summary>symlink(2): a link at <paramref name="path"/> holding <paramref name="target"/>.</summary>
    public static void Symlink(string target, string path)
    {
        fixed (byte* t = Z(target), p = Z(path))
        {
            if (LibC.symlink(t, p) != 0)
            {
                throw Failure(path);
            }
        }
    }

    /// <summary>readlink(2): what the link holds, bytes kept.</summary>
    public static string ReadLink(string path)
    {
        byte[] buffer = new byte[4096];
        fixed (byte* p = Z(path), b = buffer)
        {
            long n = LibC.readlink(p, b, (size_t)buffer.Length);
            if (n < 0)
            {
                throw Failure(path);
            }
            return NameEncoding.GetString(buffer.AsSpan(0, (int)n));
        }
    }

    /// <summary>unlink(2): a non-folder, the link itself when it is one.</summary>
    public static void Delete(string path)
    {
        fixed (byte* p = Z(path))
        {
            if (LibC.unlink(p) != 0)
            {
                throw Failure(path);
            }
        }
    }

    /// <summary>chmod(2) to the permission bits of <paramref name="mode"/>.</summary>
    public static void Chmod(string path, uint mode)
    {
        fixed (byte* p = Z(path))
        {
            if (LibC.chmod(p, (mode_t)(mode & 0xFFF)) != 0)
            {
                throw Failure(path);
            }
        }
    }

    /// <summary>The names in folder <paramref name="path"/>, without "." and "..", bytes kept.</summary>
    public static List<string> ListNames(string path)
    {
        nint dir;
        fixed (byte* p = Z(path))
        {
            dir = opendir(p);
        }
        if (dir == 0)
        {
            throw Failure(path);
        }
        var names = new List<string>();
        try
        {
            Marshal.SetLastPInvokeError(0);
            for (byte* entry; (entry = readdir(dir)) != null;)
            {
                var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(entry + DNameOffset);
                if (!(name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)))
                {
                    names.Add(NameEncoding.GetString(name));
                }
            }
            if (Marshal.GetLastPInvokeError() is int errno and not 0)
            {
                throw new HostIOException(path, Describe(errno));
            }
        }
        finally
        {
            _ = closedir(dir);
        }
        return names;
    }

    /// <summary>Open a host file to read from its start.</summary>
    public static FileStream OpenRead(string path)
    {
        FileStream stream = Open(path, LibC.O_RDONLY, FileAccess.Read);
        // As FileOptions.SequentialScan does: the host reads ahead further.
        _ = LibC.posix_fadvise(stream.SafeFileHandle.DangerousGetHandle().ToInt32(), 0, 0, LibC.POSIX_FADV_SEQUENTIAL);
        return stream;
    }

    /// <summary>
    /// Open a host file to write: <see cref="FileMode.CreateNew"/> (fails if it exists),
    /// <see cref="FileMode.Create"/> (emptied if it exists) or <see cref="FileMode.Open"/>
    /// (a fifo or a device named as the destination). With <paramref name="reserve"/> the
    /// host reserves that much storage without changing the size (FALLOC_FL_KEEP_SIZE), so
    /// a full host disk fails here, before any data is copied.
    /// </summary>
    public static FileStream OpenWrite(string path, FileMode mode, long reserve = 0)
    {
        int flags = LibC.O_WRONLY | mode switch
        {
            FileMode.CreateNew => LibC.O_CREAT | LibC.O_EXCL,
            FileMode.Create => LibC.O_CREAT | LibC.O_TRUNC,
            FileMode.Open => 0,
            _ => throw new ArgumentOutOfRangeException(nameof(mode)),
        };
        FileStream stream = Open(path, flags, FileAccess.Write);
        if (reserve > 0 && fallocate(stream.SafeFileHandle.DangerousGetHandle().ToInt32(), FallocKeepSize, 0, reserve) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno is ENOSPC or EFBIG)
            {
                stream.Dispose();
                throw new HostIOException(path, $"cannot reserve {reserve} bytes because the disk was full");
            }
            // A host file system without fallocate (EOPNOTSUPP) simply allocates as it writes.
            if (errno != EOPNOTSUPP)
            {
                stream.Dispose();
                throw new HostIOException(path, Describe(errno));
            }
        }
        return stream;
    }

    private static FileStream Open(string path, int flags, FileAccess access)
    {
        int fd;
        fixed (byte* p = Z(path))
        {
            fd = LibC.openat(AtFdCwd, p, flags | LibC.O_CLOEXEC, 0x1B6);
        }
        if (fd < 0)
        {
            throw Failure(path);
        }
        // bufferSize 1: no FileStream buffer; the callers write and read in large pieces.
        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), access, bufferSize: 1);
    }

    private static HostIOException Failure(string path) => new(path, Describe(LibC.errno));

    private static string Describe(int errno) => new System.ComponentModel.Win32Exception(errno).Message;

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint opendir(byte* path);

    [LibraryImport("libc", SetLastError = true)]
    private static partial byte* readdir(nint dir);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int closedir(nint dir);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fallocate(int fd, int mode, long offset, long length);
}
