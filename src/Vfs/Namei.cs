using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>How <see cref="Namei"/> treats the last component.</summary>
[Flags]
public enum NameiFlags
{
    /// <summary>Do not follow a symbolic link in the last component (lstat, readlink, unlink).</summary>
    NoFollow = 0,

    /// <summary>Follow a symbolic link in the last component (stat, open).</summary>
    Follow = 1,
}

/// <summary>
/// Path resolution (the kernel's namei): components looked up one at a time with search
/// permission checks, symbolic links followed up to <see cref="MaxSymlinks"/> (ELOOP
/// beyond), ".." at the root staying at the root, ENAMETOOLONG for a component over 255
/// bytes or a path of PATH_MAX bytes or more, ENOENT for an empty path, and a trailing
/// slash requiring a directory (ENOTDIR). Holds at most one vnode lock at a time.
/// </summary>
public static class Namei
{
    /// <summary>Symbolic links followed in one resolution before ELOOP (Linux's limit).</summary>
    public const int MaxSymlinks = 40;

    /// <summary>Resolve <paramref name="path"/> to a referenced vnode.</summary>
    public static Errno Resolve(Mount mount, string path, NameiFlags flags, Credentials cred, out Vnode? vp,
        Vnode? cwd = null)
    {
        vp = null;
        Errno e = CheckPath(path);
        if (e != Errno.OK)
        {
            return e;
        }
        int links = 0;
        return Walk(mount, cwd, path, (flags & NameiFlags.Follow) != 0, cred, ref links, out vp);
    }

    /// <summary>
    /// Resolve all but the last component: the parent directory (referenced) and the last
    /// name. A path naming the root itself ("/") yields the root and the name ".".
    /// <paramref name="trailingSlash"/> tells that the path ended in '/' (the caller then
    /// requires or creates a directory).
    /// </summary>
    public static Errno ResolveParent(Mount mount, string path, Credentials cred, out Vnode? dvp, out string name,
        out bool trailingSlash, Vnode? cwd = null)
    {
        dvp = null;
        name = "";
        trailingSlash = false;
        Errno e = CheckPath(path);
        if (e != Errno.OK)
        {
            return e;
        }
        string trimmed = path.TrimEnd('/');
        trailingSlash = trimmed.Length != path.Length;
        if (trimmed.Length == 0)
        {
            // "/" or "///": the root.
            name = ".";
            return mount.Root(out dvp);
        }
        int slash = trimmed.LastIndexOf('/');
        name = trimmed[(slash + 1)..];
        e = Vop.CheckName(name);
        if (e != Errno.OK)
        {
            return e;
        }
        string parent = slash < 0 ? "." : (slash == 0 ? "/" : trimmed[..slash]);
        int links = 0;
        e = Walk(mount, cwd, parent, followLast: true, cred, ref links, out dvp);
        if (e != Errno.OK)
        {
            return e;
        }
        if (dvp!.Type != VType.Directory)
        {
            dvp.Release();
            dvp = null;
            return Errno.ENOTDIR;
        }
        return Errno.OK;
    }

    private static Errno CheckPath(string path)
    {
        if (path.Length == 0)
        {
            return Errno.ENOENT;
        }
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            return Errno.EINVAL;
        }
        if (path.Length >= Vop.PathMax / 4 && NameEncoding.GetByteCount(path) >= Vop.PathMax)
        {
            return Errno.ENAMETOOLONG;
        }
        return Errno.OK;
    }

    private static Errno Walk(Mount mount, Vnode? cwd, string path, bool followLast, Credentials cred, ref int links,
        out Vnode? result)
    {
        result = null;
        Vnode cur;
        Errno e;
        if (path.StartsWith('/') || cwd is null)
        {
            e = mount.Root(out Vnode? root);
            if (e != Errno.OK)
            {
                return e;
            }
            cur = root!;
        }
        else
        {
            cwd.Ref();
            cur = cwd;
        }

        bool mustBeDir = path.EndsWith('/');
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < parts.Length; i++)
        {
            string part = parts[i];
            bool last = i == parts.Length - 1;
            e = Vop.CheckName(part);
            if (e != Errno.OK)
            {
                cur.Release();
                return e;
            }
            if (cur.Type != VType.Directory)
            {
                cur.Release();
                return Errno.ENOTDIR;
            }
            e = Vop.Lookup(cur, part, cred, out Vnode? next);
            if (e != Errno.OK)
            {
                cur.Release();
                return e;
            }
            if (next!.Type == VType.Symlink && (!last || followLast || mustBeDir))
            {
                if (++links > MaxSymlinks)
                {
                    next.Release();
                    cur.Release();
                    return Errno.ELOOP;
                }
                e = Vop.Readlink(next, out string target);
                next.Release();
                if (e != Errno.OK)
                {
                    cur.Release();
                    return e;
                }
                if (target.Length == 0)
                {
                    cur.Release();
                    return Errno.ENOENT;
                }
                string rest = string.Join('/', parts, i + 1, parts.Length - i - 1);
                string combined = rest.Length == 0 ? target + (mustBeDir ? "/" : "") : target.TrimEnd('/') + "/" + rest + (mustBeDir ? "/" : "");
                e = Walk(mount, cur, combined, followLast, cred, ref links, out Vnode? resolved);
                cur.Release();
                result = resolved;
                return e;
            }
            cur.Release();
            cur = next;
        }
        if (mustBeDir && cur.Type != VType.Directory)
        {
            cur.Release();
            return Errno.ENOTDIR;
        }
        result = cur;
        return Errno.OK;
    }
}
