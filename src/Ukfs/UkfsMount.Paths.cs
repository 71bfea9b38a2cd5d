using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.Ukfs;

/// <summary>Namespace operations: create, mkdir, remove, rename, links.</summary>
public sealed partial class UkfsMount
{
    /// <summary>Default permission bits of a new file (0644).</summary>
    public const uint DefaultFileMode = 0x1A4;

    /// <summary>Default permission bits of a new directory (0755).</summary>
    public const uint DefaultDirectoryMode = 0x1ED;

    /// <summary>Resolve <paramref name="path"/> to a referenced vnode.</summary>
    internal Vnode Resolve(string path, bool follow)
    {
        ThrowIfUnmounted();
        Errno e = Namei.Resolve(_mount, path, follow ? NameiFlags.Follow : NameiFlags.NoFollow, Credentials, out Vnode? vp);
        Check(e, path);
        return vp!;
    }

    /// <summary>Resolve the parent of <paramref name="path"/> (referenced) and the last name.</summary>
    private Vnode ResolveParent(string path, out string name, out bool trailingSlash)
    {
        ThrowIfUnmounted();
        Errno e = Namei.ResolveParent(_mount, path, Credentials, out Vnode? dvp, out name, out trailingSlash);
        Check(e, path);
        return dvp!;
    }

    /// <summary>True when <paramref name="path"/> names something (a dangling symlink counts).</summary>
    public bool Exists(string path)
    {
        ThrowIfUnmounted();
        Errno e = Namei.Resolve(_mount, path, NameiFlags.NoFollow, Credentials, out Vnode? vp);
        vp?.Release();
        return e == Errno.OK;
    }

    /// <summary>Create an empty regular file; EEXIST when the name is taken.</summary>
    /// <param name="path">The new file.</param>
    /// <param name="mode">Permission bits (0644 by default).</param>
    public void Create(string path, uint mode = DefaultFileMode)
    {
        Vnode dvp = ResolveParent(path, out string name, out bool slash);
        try
        {
            Check(slash ? Errno.EISDIR : Errno.OK, path);
            Check(Vop.Create(dvp, name, mode, Credentials, out Vnode? vp), path);
            vp!.Release();
        }
        finally
        {
            dvp.Release();
        }
    }

    /// <summary>Create a directory.</summary>
    /// <param name="path">The new directory.</param>
    /// <param name="mode">Permission bits (0755 by default).</param>
    /// <param name="parents">Create missing parents too and accept an existing directory (mkdir -p).</param>
    public void Mkdir(string path, uint mode = DefaultDirectoryMode, bool parents = false)
    {
        if (parents)
        {
            MkdirParents(path, mode);
            return;
        }
        Vnode dvp = ResolveParent(path, out string name, out _);
        try
        {
            Check(Vop.Mkdir(dvp, name, mode, Credentials, out Vnode? vp), path);
            vp!.Release();
        }
        finally
        {
            dvp.Release();
        }
    }

    private void MkdirParents(string path, uint mode)
    {
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string prefix = "";
        foreach (string part in parts)
        {
            prefix += "/" + part;
            Errno e = Namei.Resolve(_mount, prefix, NameiFlags.Follow, Credentials, out Vnode? vp);
            if (e == Errno.OK)
            {
                bool dir = vp!.Type == VType.Directory;
                vp.Release();
                Check(dir ? Errno.OK : Errno.ENOTDIR, prefix);
                continue;
            }
            Check(e == Errno.ENOENT ? Errno.OK : e, prefix);
            Mkdir(prefix, mode);
        }
    }

    /// <summary>Remove a name that is not a directory (unlink).</summary>
    public void Remove(string path)
    {
        Vnode dvp = ResolveParent(path, out string name, out bool slash);
        try
        {
            Check(slash ? Errno.ENOTDIR : Vop.Remove(dvp, name, Credentials), path);
        }
        finally
        {
            dvp.Release();
        }
    }

    /// <summary>Remove an empty directory.</summary>
    public void Rmdir(string path)
    {
        Vnode dvp = ResolveParent(path, out string name, out _);
        try
        {
            Check(Vop.Rmdir(dvp, name, Credentials), path);
        }
        finally
        {
            dvp.Release();
        }
    }

    /// <summary>
    /// Remove <paramref name="path"/> and, when it is a directory, everything below it (rm -r).
    /// A directory that is one of its own ancestors (a damaged image) stops the removal with
    /// EIO before anything below it is removed. The root, and a path ending in "." or "..",
    /// are refused before anything is removed (EBUSY, EINVAL), as rm -r refuses them:
    /// rmdir(2) would refuse them only once everything below them was gone.
    /// </summary>
    public void RemoveTree(string path)
    {
        string last = path.TrimEnd('/').Split('/')[^1];
        if (last is "." or "..")
        {
            throw new UkfsException(Errno.EINVAL, path, $"{path}: refusing to remove a '.' or '..' directory");
        }
        VAttr va = Lstat(path);
        if (va.Type == VType.Directory && va.Ino == Lstat("/").Ino)
        {
            throw new UkfsException(Errno.EBUSY, path, $"{path}: is the root directory; refusing to remove it");
        }
        RemoveTree(path, []);
    }

    private void RemoveTree(string path, HashSet<ulong> ancestors)
    {
        VAttr va = Lstat(path);
        if (va.Type != VType.Directory)
        {
            Remove(path);
            return;
        }
        if (!ancestors.Add(va.Ino))
        {
            throw new UkfsException(Errno.EIO, path, $"{path}: directory cycle (it is one of its own parent folders): the image is damaged (run fsck)");
        }
        foreach (UkfsDirEntry entry in ReadDirectory(path))
        {
            RemoveTree(Combine(path, entry.Name), ancestors);
        }
        ancestors.Remove(va.Ino);
        Rmdir(path);
    }

    /// <summary>Rename <paramref name="from"/> to <paramref name="to"/>, replacing a compatible target (rename(2)).</summary>
    public void Rename(string from, string to)
    {
        Vnode fdvp = ResolveParent(from, out string fromName, out _);
        try
        {
            Vnode tdvp = ResolveParent(to, out string toName, out _);
            try
            {
                Check(Vop.Rename(fdvp, fromName, tdvp, toName, Credentials), from);
            }
            finally
            {
                tdvp.Release();
            }
        }
        finally
        {
            fdvp.Release();
        }
    }

    /// <summary>Make <paramref name="newPath"/> a hard link to <paramref name="existing"/> (not followed if a symlink).</summary>
    public void Link(string existing, string newPath)
    {
        Vnode vp = Resolve(existing, follow: false);
        try
        {
            Vnode dvp = ResolveParent(newPath, out string name, out _);
            try
            {
                Check(Vop.Link(vp, dvp, name, Credentials), newPath);
            }
            finally
            {
                dvp.Release();
            }
        }
        finally
        {
            vp.Release();
        }
    }

    /// <summary>Create a symbolic link <paramref name="linkPath"/> pointing to <paramref name="target"/> (stored as given).</summary>
    public void Symlink(string target, string linkPath)
    {
        Vnode dvp = ResolveParent(linkPath, out string name, out _);
        try
        {
            Check(Vop.Symlink(dvp, name, target, Credentials, out Vnode? vp), linkPath);
            vp!.Release();
        }
        finally
        {
            dvp.Release();
        }
    }

    /// <summary>
    /// Create a fifo, socket or device node (mknod(2)). Device nodes need root credentials
    /// (EPERM otherwise); a format that cannot store the node, FAT for one, gives EPERM.
    /// </summary>
    /// <param name="path">The new node.</param>
    /// <param name="type"><see cref="VType.Fifo"/>, <see cref="VType.Socket"/>, <see cref="VType.CharDevice"/> or <see cref="VType.BlockDevice"/>.</param>
    /// <param name="mode">Permission bits.</param>
    /// <param name="rdev">The device number of a device node (Linux encoding, as stat's st_rdev); ignored otherwise.</param>
    public void Mknod(string path, VType type, uint mode, ulong rdev = 0)
    {
        Vnode dvp = ResolveParent(path, out string name, out _);
        try
        {
            Check(type is VType.Regular or VType.Directory or VType.Symlink ? Errno.EINVAL : Errno.OK, path);
            Check(Vop.Mknod(dvp, name, type, mode & 0xFFF, rdev, Credentials, out Vnode? vp), path);
            vp!.Release();
        }
        finally
        {
            dvp.Release();
        }
    }

    /// <summary>The target of the symbolic link <paramref name="path"/>; EINVAL when it is not one.</summary>
    public string ReadLink(string path)
    {
        Vnode vp = Resolve(path, follow: false);
        try
        {
            Check(Vop.Readlink(vp, out string target), path);
            return target;
        }
        finally
        {
            vp.Release();
        }
    }

    /// <summary>Join a directory path and a name with one '/'.</summary>
    public static string Combine(string directory, string name) =>
        directory.EndsWith('/') ? directory + name : directory + "/" + name;
}
