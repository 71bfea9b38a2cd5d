using RumpFs.Kernel;
using RumpFs.Ukfs;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>
/// put SOURCE [DEST], and newfs --from DIR: copy a host tree into the image as cp -a, makefs
/// and mke2fs -d do. Folders, regular files, symbolic links (never followed), hard links
/// (files with one host inode become links of one file), fifos, sockets and device nodes;
/// modes and times to the nanosecond; owners when run as root. What the format cannot
/// store is named in a warning and left out: on FAT hard links become separate copies, and
/// symbolic links and special files are skipped.
/// </summary>
internal sealed class CopyIn
{
    private readonly CommandContext _ctx;
    private readonly UkfsMount _fs;
    private readonly string _label;
    private readonly bool _intoExisting;
    private readonly bool _keepOwners = HostNodes.IsRoot;
    private readonly Progress _progress;
    private readonly PipelinedCopy _pipe = new();
    private readonly Dictionary<(ulong Dev, ulong Ino), string> _linked = [];
    private readonly List<(string Host, string Path, HostStat Stat)> _directories = [];
    private bool _linksUnsupported;
    private Timespec? _clampTo;

    // label: put before every message ("newfs: "), or empty. intoExisting: the image may
    // already hold the names (put), and a non-folder in the way is replaced.
    private CopyIn(CommandContext ctx, UkfsMount fs, string verb, string label, bool intoExisting)
    {
        _ctx = ctx;
        _fs = fs;
        _label = label;
        _intoExisting = intoExisting;
        _progress = new Progress(ctx.Err, verb, ctx.Progress);
    }

    /// <summary>ukfs put: SOURCE becomes DEST, or goes inside DEST when that is a folder; "-" is stdin.</summary>
    public static int Run(CommandContext ctx, PutOptions o)
    {
        string source = o.Source;
        if (source == "-")
        {
            return FromStdin(ctx, o.Dest);
        }
        if (HostNodes.Lstat(source) is null)
        {
            throw new UsageException($"{source}: no such file or directory on the host");
        }
        string dest = o.Dest ?? "/";
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(source));
        string target = dest;
        if (name is not ("" or "." or "..") && IsImageDirectory(ctx.Mount, dest))
        {
            target = UkfsMount.Combine(dest, name);
        }
        var copy = new CopyIn(ctx, ctx.Mount, "put", "", intoExisting: true);
        copy.Copy(source, target);
        copy.Finish();
        return 0;
    }

    /// <summary>
    /// put - DEST: standard input into the file DEST, as `cat > DEST` does: a new file gets
    /// mode 0644, an existing one keeps its mode and is replaced.
    /// </summary>
    private static int FromStdin(CommandContext ctx, string? dest)
    {
        if (dest is null || dest.EndsWith('/') || IsImageDirectory(ctx.Mount, dest))
        {
            throw new UsageException("put -: give the file to write as DEST (standard input has no name)");
        }
        var progress = new Progress(ctx.Err, "put", ctx.Progress);
        using (Stream input = ctx.OpenInput())
        using (UkfsFileStream output = ctx.Mount.Open(dest, FileMode.Create, FileAccess.Write))
        {
            byte[] buffer = new byte[PipelinedCopy.ChunkSize];
            int n;
            while ((n = input.Read(buffer)) > 0)
            {
                output.Write(buffer.AsSpan(0, n));
                progress.Add(n);
            }
        }
        progress.Finish();
        ctx.Mount.Sync();
        return 0;
    }

    /// <summary>
    /// newfs --from DIR: the folder's contents become the new file system's root. With
    /// <paramref name="clampTo"/> (a reproducible build) no time copied is later than it, and
    /// access times are the modification times (reading the host tree moves its access times).
    /// </summary>
    public static void Populate(CommandContext ctx, UkfsMount fs, string hostRoot, Timespec? clampTo = null)
    {
        var copy = new CopyIn(ctx, fs, "newfs", "newfs: ", intoExisting: false) { _clampTo = clampTo };
        // The trailing slash makes lstat follow a folder given as a link to one.
        copy.Copy(Path.TrimEndingDirectorySeparator(hostRoot) + "/", "/");
        copy.Finish();
    }

    private void Finish()
    {
        // Folders last and deepest first: adding their entries moved their times, and a
        // read-only mode would have blocked the copy.
        foreach ((string host, string path, HostStat st) in _directories.AsEnumerable().Reverse())
        {
            try
            {
                Attributes(host, path, st, follow: true);
            }
            catch (UkfsException e)
            {
                _ctx.Error(_label + e.Message);
            }
            catch (IOException e)
            {
                _ctx.Error(_label + e.Message);
            }
        }
        _progress.Finish();
        _fs.Sync();
    }

    private static bool IsImageDirectory(UkfsMount fs, string path)
    {
        try
        {
            return fs.Stat(path).Type == VType.Directory;
        }
        catch (UkfsException e) when (e.Errno == Errno.ENOENT)
        {
            return false;
        }
    }

    /// <summary>Copy one host node; a failure is reported for it and the copy goes on.</summary>
    private void Copy(string host, string dest)
    {
        try
        {
            HostStat st = HostNodes.Lstat(host) ?? throw new HostIOException(host, "no such file or directory");
            switch (st.Type)
            {
                case VType.Directory:
                    CopyDirectory(host, dest, st);
                    break;
                case VType.Regular:
                    CopyRegular(host, dest, st);
                    break;
                case VType.Symlink:
                    CopySymlink(host, dest, st);
                    break;
                case VType.Fifo or VType.Socket or VType.CharDevice or VType.BlockDevice:
                    CopySpecial(host, dest, st);
                    break;
                default:
                    _ctx.Warn($"{_label}{host}: unknown file type; not copied");
                    break;
            }
        }
        catch (UkfsException e)
        {
            _ctx.Error(_label + e.Message);
        }
        catch (HostIOException e)
        {
            _ctx.Error(_label + e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _ctx.Error($"{_label}{host}: {e.Message}");
        }
    }

    private void CopyDirectory(string host, string dest, HostStat st)
    {
        if (!IsImageDirectory(_fs, dest))
        {
            if (_intoExisting)
            {
                ReplaceNonDirectory(dest);
            }
            _fs.Mkdir(dest, 0x1C0); // owner-only until its real mode is set at the end
        }
        _directories.Add((host, dest, st));
        foreach (string name in HostFiles.ListNames(host).Order(StringComparer.Ordinal))
        {
            Copy(Path.Combine(host, name), UkfsMount.Combine(dest, name));
        }
    }

    private void CopyRegular(string host, string dest, HostStat st)
    {
        if (st.Nlink > 1 && !_linksUnsupported && _linked.TryGetValue((st.Dev, st.Ino), out string? first))
        {
            if (TryLink(host, first, dest))
            {
                return;
            }
        }
        using (FileStream input = HostFiles.OpenRead(host))
        using (UkfsFileStream output = _fs.Open(dest, _intoExisting ? FileMode.Create : FileMode.CreateNew, FileAccess.Write, 0x180))
        {
            _pipe.Run(input.Length, buffer => input.Read(buffer.Span), chunk =>
            {
                output.Write(chunk.Span);
                _progress.Add(chunk.Length);
            });
        }
        if (st.Nlink > 1 && !_linksUnsupported)
        {
            _linked[(st.Dev, st.Ino)] = dest;
        }
        Attributes(host, dest, st, follow: true);
    }

    /// <summary>A further name of a file already copied; false when the format has no hard links (FAT).</summary>
    private bool TryLink(string host, string first, string dest)
    {
        try
        {
            if (_intoExisting)
            {
                ReplaceNonDirectory(dest);
            }
            _fs.Link(first, dest);
            return true;
        }
        catch (UkfsException e) when (e.Errno is Errno.EPERM or Errno.EOPNOTSUPP or Errno.EMLINK)
        {
            if (e.Errno != Errno.EMLINK)
            {
                _linksUnsupported = true;
            }
            _ctx.WarnOnce("links", $"{_label}{host}: hard links copied as separate files ({e.Errno.Describe()})");
            return false;
        }
    }

    private void CopySymlink(string host, string dest, HostStat st)
    {
        string target = HostFiles.ReadLink(host);
        if (_intoExisting)
        {
            ReplaceNonDirectory(dest);
        }
        if (Stored(() => _fs.Symlink(target, dest), host, "symbolic link"))
        {
            Attributes(host, dest, st, follow: false);
        }
    }

    private void CopySpecial(string host, string dest, HostStat st)
    {
        if (_intoExisting)
        {
            ReplaceNonDirectory(dest);
        }
        if (Stored(() => _fs.Mknod(dest, st.Type, 0x180, st.Rdev), host, Format.TypeName(st.Type)))
        {
            Attributes(host, dest, st, follow: false);
        }
    }

    /// <summary>Run <paramref name="make"/>; false, with a warning, when the format cannot store the node.</summary>
    private bool Stored(Action make, string host, string what)
    {
        try
        {
            make();
            return true;
        }
        catch (UkfsException e) when (e.Errno is Errno.EPERM or Errno.EOPNOTSUPP)
        {
            _ctx.Warn($"{_label}{host}: {what} not copied: the file system cannot store it ({e.Errno.Describe()})");
            return false;
        }
    }

    private void ReplaceNonDirectory(string dest)
    {
        if (_fs.Exists(dest) && _fs.Lstat(dest).Type != VType.Directory)
        {
            _fs.Remove(dest);
        }
    }

    /// <summary>
    /// Owner first (a change of owner clears set-id bits and file capabilities), then
    /// extended attributes, mode and times. A format that cannot store one of them (FAT:
    /// owners) is named once, not for every file.
    /// </summary>
    private void Attributes(string host, string dest, HostStat st, bool follow)
    {
        if (_keepOwners)
        {
            Try("owners", () => _fs.Chown(dest, st.Uid, st.Gid, follow));
        }
        CopyXattrs(host, dest, follow);
        if (st.Type != VType.Symlink)
        {
            Try("modes", () => _fs.Chmod(dest, st.Mode));
        }
        (Timespec atime, Timespec mtime) = (st.Atime, st.Mtime);
        if (_clampTo is Timespec limit)
        {
            mtime = mtime > limit ? limit : mtime;
            atime = mtime;
        }
        Try("times", () => _fs.SetTimes(dest, atime, mtime, follow));

        void Try(string what, Action set)
        {
            try
            {
                set();
            }
            catch (UkfsException e) when (e.Errno is Errno.EPERM or Errno.EOPNOTSUPP or Errno.EINVAL)
            {
                _ctx.WarnOnce(what, $"{_label}{dest}: {what} not kept: {e.Message} (further ones not shown)");
            }
        }
    }

    private void CopyXattrs(string host, string dest, bool follow)
    {
        foreach (string name in HostXattrs.List(host))
        {
            if (HostXattrs.Get(host, name) is not byte[] value)
            {
                continue;
            }
            try
            {
                _fs.SetXattr(dest, name, value, follow);
            }
            catch (UkfsException e) when (e.Errno is Errno.EOPNOTSUPP or Errno.EPERM or Errno.ENOSPC or Errno.E2BIG or Errno.ERANGE)
            {
                string space = HostXattrs.NameSpace(name);
                _ctx.WarnOnce("xattr " + space, $"{_label}{host}: extended attribute {name} not kept: {e.Errno.Describe()} (further {space}.* ones not shown)");
            }
        }
    }
}
