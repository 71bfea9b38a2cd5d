using System.Globalization;
using RumpFs.Kernel;
using RumpFs.Ukfs;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>cat, mkdir, rm, mv, ln, chmod, chown, touch: one Ukfs call each, per argument.</summary>
internal static class FileCommands
{
    private const int CopyBuffer = 1 << 20;

    public static int Cat(CommandContext ctx, CatOptions o)
    {
        byte[] buffer = new byte[CopyBuffer];
        ctx.ForEach(o.Paths, path =>
        {
            using UkfsFileStream s = ctx.Mount.Open(path);
            int n;
            while ((n = s.Read(buffer)) > 0)
            {
                ctx.BinaryOut.Write(buffer, 0, n);
            }
        });
        ctx.BinaryOut.Flush();
        return 0;
    }

    public static int Mkdir(CommandContext ctx, MkdirOptions o)
    {
        // As mkdir(1) -m: the change applies to a=rwx.
        uint mode = o.Mode is null ? UkfsMount.DefaultDirectoryMode
            : ModeChange.Parse(o.Mode).Apply(0x1FF, isDirectory: true, ModeChange.ProcessUmask());
        ctx.ForEach(o.Paths, path => ctx.Mount.Mkdir(path, mode, o.Parents));
        return 0;
    }

    public static int Rm(CommandContext ctx, RmOptions o)
    {
        ctx.ForEach(o.Paths, path =>
        {
            if (o.Force && !ctx.Mount.Exists(path))
            {
                return;
            }
            VAttr va = ctx.Mount.Lstat(path);
            if (va.Type == VType.Directory && !o.Recursive)
            {
                throw new UkfsException(Errno.EISDIR, path, $"{path}: is a directory (use rm -r)");
            }
            ctx.Mount.RemoveTree(path);
        });
        return 0;
    }

    public static int Mv(CommandContext ctx, MvOptions o)
    {
        string dest = IntoDirectory(ctx.Mount, o.Source, o.Dest);
        ctx.Mount.Rename(o.Source, dest);
        return 0;
    }

    public static int Ln(CommandContext ctx, LnOptions o)
    {
        string link = IntoDirectory(ctx.Mount, o.Target, o.Link);
        if (o.Symbolic)
        {
            ctx.Mount.Symlink(o.Target, link);
        }
        else
        {
            ctx.Mount.Link(o.Target, link);
        }
        return 0;
    }

    /// <summary>mv and ln: an existing directory as destination means "into it, same name".</summary>
    internal static string IntoDirectory(UkfsMount fs, string source, string dest)
    {
        try
        {
            if (fs.Stat(dest).Type == VType.Directory)
            {
                string name = Path.GetFileName(source.TrimEnd('/'));
                if (name.Length > 0)
                {
                    return UkfsMount.Combine(dest, name);
                }
            }
        }
        catch (UkfsException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
        {
            // The call itself then names what is wrong, the source first (as ln and mv do).
        }
        return dest;
    }

    public static int Chmod(CommandContext ctx, ChmodOptions o)
    {
        ModeChange change = ModeChange.Parse(o.Mode);
        uint umask = ModeChange.ProcessUmask();
        ctx.ForEach(o.Paths, path =>
        {
            VAttr va = ctx.Mount.Stat(path);
            ctx.Mount.Chmod(path, change.Apply(va.Mode, va.Type == VType.Directory, umask));
        });
        return 0;
    }

    public static int Chown(CommandContext ctx, ChownOptions o)
    {
        (uint? uid, uint? gid) = ParseOwner(o.Owner);
        ctx.ForEach(o.Paths, path => ctx.Mount.Chown(path, uid, gid, follow: !o.NoFollow));
        return 0;
    }

    /// <summary>"UID", "UID:GID", "UID:", ":GID" (numeric: the image's users are not the host's).</summary>
    internal static (uint? Uid, uint? Gid) ParseOwner(string text)
    {
        int colon = text.IndexOfAny([':', '.']);
        string u = colon < 0 ? text : text[..colon];
        string g = colon < 0 ? "" : text[(colon + 1)..];
        uint? uid = u.Length == 0 ? null : ParseId(u, text);
        uint? gid = g.Length == 0 ? null : ParseId(g, text);
        if (uid is null && gid is null)
        {
            throw new UsageException($"chown: bad owner '{text}' (expected UID[:GID] or :GID, numeric)");
        }
        return (uid, gid);
    }

    private static uint ParseId(string s, string whole) =>
        uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out uint v)
            ? v
            : throw new UsageException($"chown: bad owner '{whole}' (numeric ids only: the image's users are not the host's)");

    /// <summary>
    /// touch as coreutils has it: create what is missing (not with -c), then set both times,
    /// or only one (-a, -m), to now, to -d's time or to -r's file's times.
    /// </summary>
    public static int Touch(CommandContext ctx, TouchOptions o)
    {
        bool setAccess = o.AccessOnly || !o.ModificationOnly;
        bool setModification = o.ModificationOnly || !o.AccessOnly;
        VAttr? reference = o.Reference is null ? null : ctx.Mount.Stat(o.Reference);
        ctx.ForEach(o.Paths, path =>
        {
            bool exists = ctx.Mount.Exists(path);
            if (!exists)
            {
                if (o.NoCreate)
                {
                    return;
                }
                ctx.Mount.Create(path);
            }
            if (reference is null && o.Time is null && setAccess && setModification && !o.NoFollow)
            {
                if (exists)
                {
                    ctx.Mount.Touch(path); // both "now": write access is enough, as for utimensat(NULL)
                }
                return;
            }
            Timespec now = ctx.Mount.Clock.Now;
            Timespec access = reference?.Atime ?? o.Time ?? now;
            Timespec modification = reference?.Mtime ?? o.Time ?? now;
            ctx.Mount.SetTimes(path, setAccess ? access : null, setModification ? modification : null, follow: !o.NoFollow);
        });
        return 0;
    }

    public static int Truncate(CommandContext ctx, TruncateOptions o)
    {
        ctx.ForEach(o.Paths, path =>
        {
            if (!ctx.Mount.Exists(path))
            {
                if (o.NoCreate)
                {
                    return;
                }
                ctx.Mount.Create(path);
            }
            long size = o.Relative switch
            {
                0 => o.Size,
                > 0 => ctx.Mount.Stat(path).Size + o.Size,
                _ => Math.Max(0, ctx.Mount.Stat(path).Size - o.Size),
            };
            ctx.Mount.Truncate(path, size);
        });
        return 0;
    }

    /// <summary>util-linux fallocate: a missing file is created first (its open has O_CREAT).</summary>
    public static int Fallocate(CommandContext ctx, FallocateOptions o)
    {
        if (!ctx.Mount.Exists(o.Path))
        {
            ctx.Mount.Create(o.Path);
        }
        if (o.PunchHole)
        {
            ctx.Mount.PunchHole(o.Path, o.Offset, o.Length);
        }
        else if (o.ZeroRange)
        {
            ctx.Mount.ZeroRange(o.Path, o.Offset, o.Length, o.KeepSize);
        }
        else
        {
            ctx.Mount.Allocate(o.Path, o.Offset, o.Length, o.KeepSize);
        }
        return 0;
    }
}
