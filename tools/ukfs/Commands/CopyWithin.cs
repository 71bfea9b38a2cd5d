using RumpFs.Kernel;
using RumpFs.Ukfs;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>
/// cp [-r] [-p] [-a] [-P|-L] [-n] SOURCE... DEST inside the image, as GNU cp copies on a
/// mount: into DEST when it is a directory; an existing file is written over in place (it
/// keeps its mode); a new one gets the source's mode less the umask and the setuid and
/// setgid bits; holes stay holes. -R copies symbolic links as links and fifos and device
/// nodes as nodes; without it links are followed and a directory is passed over with an
/// error. -p keeps mode, owner, times and the POSIX ACL; -a is -R -p with hard links kept as
/// links and every extended attribute. A directory copied into itself, a file onto itself,
/// and a directory onto a file are refused before anything is written for that SOURCE.
/// </summary>
internal sealed class CopyWithin
{
    private static readonly string[] AclNames = ["system.posix_acl_access", "system.posix_acl_default"];

    private readonly CommandContext _ctx;
    private readonly UkfsMount _fs;
    private readonly CpOptions _o;
    private readonly uint _umask = ModeChange.ProcessUmask();
    private readonly Dictionary<ulong, string> _linked = [];

    private CopyWithin(CommandContext ctx, CpOptions o)
    {
        _ctx = ctx;
        _fs = ctx.Mount;
        _o = o;
    }

    private bool Recursive => _o.Recursive || _o.RecursiveR || _o.Archive;
    private bool Preserve => _o.Preserve || _o.Archive;

    /// <summary>Links in SOURCE are followed without -R, or with -L; -P (and -R, -a) copies them as links.</summary>
    private bool Follow => _o.Dereference || (!Recursive && !_o.NoDereference);

    public static int Run(CommandContext ctx, CpOptions o)
    {
        List<string> args = [.. o.Paths];
        if (args.Count < 2)
        {
            throw new UsageException(args.Count == 0 ? "cp: missing file operand" : $"cp: missing destination file operand after '{args[0]}'");
        }
        string dest = args[^1];
        List<string> sources = args[..^1];
        bool destIsDirectory = IsDirectory(ctx.Mount, dest);
        if (sources.Count > 1 && !destIsDirectory)
        {
            throw new UsageException(ctx.Mount.Exists(dest) ? $"cp: target '{dest}' is not a directory" : $"cp: target '{dest}': No such file or directory");
        }
        var copy = new CopyWithin(ctx, o);
        ctx.ForEach(sources, source =>
        {
            string target = destIsDirectory ? UkfsMount.Combine(dest, LastName(source)) : dest;
            copy.CopyTop(source, target);
        });
        return 0;
    }

    private void CopyTop(string source, string target)
    {
        VAttr va = Follow ? _fs.Stat(source) : _fs.Lstat(source);
        if (va.Type == VType.Directory && !Recursive)
        {
            _ctx.Error($"-r not specified; omitting directory '{source}'");
            return;
        }
        VAttr? existing = TryStat(target, follow: true);
        if (existing is VAttr e && e.Ino == va.Ino)
        {
            _ctx.Error($"'{source}' and '{target}' are the same file");
            return;
        }
        if (va.Type == VType.Directory && IsBelow(Normalize(target), Normalize(source)))
        {
            _ctx.Error($"cannot copy a directory, '{source}', into itself, '{target}'");
            return;
        }
        Copy(source, target, va);
    }

    /// <summary>Copy one node (and below it); an error is reported and the copy goes on with the rest.</summary>
    private void Copy(string source, string target, VAttr va)
    {
        try
        {
            switch (va.Type)
            {
                case VType.Directory:
                    CopyDirectory(source, target, va);
                    return;
                case VType.Regular:
                    CopyFile(source, target, va);
                    break;
                case VType.Symlink:
                    ReplaceWith(target, () => _fs.Symlink(_fs.ReadLink(source), target));
                    break;
                default:
                    if (!Recursive)
                    {
                        _ctx.Error($"'{source}' is a special file: use -R to copy it as one");
                        return;
                    }
                    ReplaceWith(target, () => _fs.Mknod(target, va.Type, NewMode(va), va.Rdev));
                    break;
            }
            Finish(source, target, va);
        }
        catch (UkfsException e)
        {
            _ctx.Error(e.Message);
        }
    }

    private void CopyDirectory(string source, string target, VAttr va)
    {
        VAttr? existing = TryStat(target, follow: true);
        if (existing is VAttr e && e.Type != VType.Directory)
        {
            _ctx.Error($"cannot overwrite non-directory '{target}' with directory '{source}'");
            return;
        }
        if (existing is null)
        {
            // Writable for the copy; the mode it keeps is set once its contents are in.
            _fs.Mkdir(target, NewMode(va) | 0x1C0);
        }
        IReadOnlyList<UkfsDirEntry> entries;
        try
        {
            entries = _ctx.ListDirectory(source);
        }
        catch (UkfsException ex)
        {
            _ctx.Error(ex.Message);
            return;
        }
        foreach (UkfsDirEntry entry in entries)
        {
            string from = UkfsMount.Combine(source, entry.Name);
            VAttr child = _o.Dereference ? _fs.Stat(from) : entry.Attributes;
            Copy(from, UkfsMount.Combine(target, entry.Name), child);
        }
        if (existing is null || Preserve)
        {
            _fs.Chmod(target, Preserve ? va.Mode & 0xFFF : NewMode(va));
        }
        if (Preserve)
        {
            Finish(source, target, va);
        }
    }

    private void CopyFile(string source, string target, VAttr va)
    {
        if (_o.Archive && va.Nlink > 1)
        {
            if (_linked.TryGetValue(va.Ino, out string? first))
            {
                ReplaceWith(target, () => _fs.Link(first, target));
                return;
            }
            _linked[va.Ino] = target;
        }
        VAttr? existing = TryStat(target, follow: true);
        if (existing is VAttr e && e.Type == VType.Directory)
        {
            throw new UkfsException(Errno.EISDIR, target, $"cannot overwrite directory '{target}' with non-directory");
        }
        if (existing is not null && _o.NoClobber)
        {
            return;
        }
        using UkfsFileStream input = _fs.Open(source);
        using UkfsFileStream output = _fs.Open(target, FileMode.Create, FileAccess.Write, NewMode(va));
        CopyData(input, output, va.Size);
    }

    /// <summary>Only the data ranges of <paramref name="input"/> are copied, so the holes stay holes.</summary>
    private static void CopyData(UkfsFileStream input, UkfsFileStream output, long size)
    {
        byte[] buffer = new byte[1 << 20];
        foreach ((long data, long hole) in DataRanges.Of(input, size))
        {
            input.Position = data;
            output.Position = data;
            for (long left = hole - data; left > 0;)
            {
                int n = input.Read(buffer.AsSpan(0, (int)Math.Min(buffer.Length, left)));
                if (n == 0)
                {
                    break;
                }
                output.Write(buffer.AsSpan(0, n));
                left -= n;
            }
        }
        output.SetLength(size);
    }

    /// <summary>A link or node goes where a non-directory may stand: that is removed first, as cp -P does.</summary>
    private void ReplaceWith(string target, Action make)
    {
        if (TryStat(target, follow: false) is VAttr e)
        {
            if (e.Type == VType.Directory)
            {
                throw new UkfsException(Errno.EISDIR, target, $"cannot overwrite directory '{target}' with non-directory");
            }
            if (_o.NoClobber)
            {
                return;
            }
            _fs.Remove(target);
        }
        make();
    }

    /// <summary>With -p: owner, mode (after the owner, which clears setuid), ACL and times; with -a every attribute.</summary>
    private void Finish(string source, string target, VAttr va)
    {
        if (!Preserve)
        {
            return;
        }
        bool isLink = va.Type == VType.Symlink;
        _fs.Chown(target, va.Uid, va.Gid, follow: false);
        if (!isLink)
        {
            _fs.Chmod(target, va.Mode & 0xFFF);
            CopyAttributes(source, target);
        }
        _fs.SetTimes(target, va.Atime, va.Mtime, follow: false);
    }

    /// <summary>The POSIX ACL (-p), or every extended attribute (-a); a target format without them is passed over, as cp does.</summary>
    private void CopyAttributes(string source, string target)
    {
        IReadOnlyList<string> names;
        try
        {
            names = _fs.ListXattrs(source, follow: false);
        }
        catch (UkfsException e) when (e.Errno == Errno.EOPNOTSUPP)
        {
            return;
        }
        foreach (string name in names.Where(n => _o.Archive || AclNames.Contains(n)))
        {
            try
            {
                _fs.SetXattr(target, name, _fs.GetXattr(source, name, follow: false), follow: false);
            }
            catch (UkfsException e) when (e.Errno is Errno.EOPNOTSUPP or Errno.ENOTSUP)
            {
                _ctx.WarnOnce("xattr:" + target, $"{target}: the image keeps no attribute '{name}'; left out");
            }
        }
    }

    /// <summary>The mode of a new copy without -p: the source's less the umask and setuid/setgid (cp keeps the sticky bit).</summary>
    private uint NewMode(VAttr va) => Preserve ? va.Mode & 0xFFF : va.Mode & 0x3FF & ~_umask;

    private VAttr? TryStat(string path, bool follow)
    {
        try
        {
            return follow ? _fs.Stat(path) : _fs.Lstat(path);
        }
        catch (UkfsException e) when (e.Errno is Errno.ENOENT)
        {
            return null;
        }
    }

    private static bool IsDirectory(UkfsMount fs, string path)
    {
        try
        {
            return fs.Stat(path).Type == VType.Directory;
        }
        catch (UkfsException)
        {
            return false;
        }
    }

    private static string LastName(string path)
    {
        string trimmed = path.TrimEnd('/');
        return trimmed.Length == 0 ? "/" : trimmed[(trimmed.LastIndexOf('/') + 1)..];
    }

    /// <summary>An absolute path with "." and ".." taken out (links are not resolved, as cp's check does not).</summary>
    private static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }
        return "/" + string.Join('/', parts);
    }

    private static bool IsBelow(string path, string ancestor) =>
        path == ancestor || path.StartsWith(ancestor == "/" ? "/" : ancestor + "/", StringComparison.Ordinal);
}
