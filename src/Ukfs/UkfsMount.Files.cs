using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.Ukfs;

/// <summary>File contents: streams and whole-file helpers.</summary>
public sealed partial class UkfsMount
{
    /// <summary>Open a regular file as a stream, with <see cref="File.Open(string, FileMode, FileAccess)"/>'s meaning of the arguments.</summary>
    /// <param name="path">The file.</param>
    /// <param name="mode">Open, Create (create or truncate), CreateNew (EEXIST if present), OpenOrCreate, Truncate, Append.</param>
    /// <param name="access">Read, Write or ReadWrite.</param>
    /// <param name="createMode">Permission bits of a file this call creates (0644 by default).</param>
    /// <returns>A <see cref="UkfsFileStream"/>; dispose it to close the file.</returns>
    public UkfsFileStream Open(string path, FileMode mode = FileMode.Open, FileAccess access = FileAccess.Read,
        uint createMode = DefaultFileMode)
    {
        if (mode == FileMode.Append)
        {
            access = FileAccess.Write;
        }
        int flags = access switch
        {
            FileAccess.Read => OpenFlags.ReadOnly,
            FileAccess.Write => OpenFlags.WriteOnly,
            _ => OpenFlags.ReadWrite,
        };
        bool mayCreate = mode is FileMode.Create or FileMode.CreateNew or FileMode.OpenOrCreate or FileMode.Append;
        if (mode is FileMode.Create or FileMode.Truncate)
        {
            flags |= OpenFlags.Truncate;
        }
        if (mode == FileMode.Append)
        {
            flags |= OpenFlags.Append;
        }
        Vnode vp;
        bool created = false;
        if (mayCreate)
        {
            vp = CreateOrFind(path, createMode, exclusive: mode == FileMode.CreateNew, out created);
        }
        else
        {
            vp = Resolve(path, follow: true);
        }
        try
        {
            if (vp.Type != VType.Regular)
            {
                Check(vp.Type == VType.Directory ? Errno.EISDIR : Errno.EINVAL, path);
            }
            // A file this call created may be opened for writing whatever createMode says (open(2) with O_CREAT).
            Check(created ? Vop.Open(vp, flags & ~OpenFlags.Truncate, Credentials.Root) : Vop.Open(vp, flags, Credentials), path);
            return new UkfsFileStream(vp, flags, path, Credentials, append: mode == FileMode.Append);
        }
        catch
        {
            vp.Release();
            throw;
        }
    }

    private Vnode CreateOrFind(string path, uint mode, bool exclusive, out bool created)
    {
        created = false;
        Vnode dvp = ResolveParent(path, out string name, out bool slash);
        try
        {
            Check(slash ? Errno.EISDIR : Errno.OK, path);
            Errno e = Vop.Create(dvp, name, mode, Credentials, out Vnode? vp);
            if (e == Errno.OK)
            {
                created = true;
                return vp!;
            }
            if (e != Errno.EEXIST || exclusive)
            {
                Check(e, path);
            }
        }
        finally
        {
            dvp.Release();
        }
        return Resolve(path, follow: true);
    }

    /// <summary>The whole contents of the regular file <paramref name="path"/>.</summary>
    public byte[] ReadAllBytes(string path)
    {
        using UkfsFileStream s = Open(path);
        long length = s.Length;
        if (length > Array.MaxLength)
        {
            throw new UkfsException(Errno.EFBIG, path, $"{path}: too large to read into memory ({length} bytes)");
        }
        byte[] data = new byte[length];
        int done = 0;
        while (done < data.Length)
        {
            int n = s.Read(data.AsSpan(done));
            if (n == 0)
            {
                break;
            }
            done += n;
        }
        return done == data.Length ? data : data[..done];
    }

    /// <summary>Create or replace the contents of <paramref name="path"/> with <paramref name="data"/>.</summary>
    public void WriteAllBytes(string path, ReadOnlySpan<byte> data, uint createMode = DefaultFileMode)
    {
        using UkfsFileStream s = Open(path, FileMode.Create, FileAccess.Write, createMode);
        s.Write(data);
    }
}
