using RumpFs.Kernel;
using RumpFs.Ukfs;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>
/// newfs --from DIR, as makefs and mke2fs -d do it: the host tree is copied into the new
/// file system through the driver: folders, regular files, symbolic links, hard links (files
/// with the same host inode become links of one file), modes, owners (when run as root) and
/// times. What the format cannot store (links on FAT, say) is reported and skipped.
/// </summary>
internal sealed class NewfsPopulate
{
    private const uint TypeRegular = 0x8000;

    private readonly CommandContext _ctx;
    private readonly UkfsMount _fs;
    private readonly Dictionary<(ulong Dev, ulong Ino), string> _linked = [];
    private readonly List<(string Path, FileSystemInfo Info)> _directories = [];
    private readonly byte[] _buffer = new byte[1 << 20];

    private NewfsPopulate(CommandContext ctx, UkfsMount fs)
    {
        _ctx = ctx;
        _fs = fs;
    }

    public static void Run(CommandContext ctx, UkfsMount fs, string hostRoot)
    {
        var p = new NewfsPopulate(ctx, fs);
        var root = new DirectoryInfo(hostRoot);
        p._directories.Add(("/", root));
        p.CopyChildren(root, "/");
        // Folders last and deepest first, so that adding their entries does not move their times.
        foreach ((string path, FileSystemInfo info) in p._directories.AsEnumerable().Reverse())
        {
            p.Attributes(path, info);
        }
        fs.Sync();
    }

    private void CopyChildren(DirectoryInfo dir, string dest)
    {
        foreach (FileSystemInfo child in dir.EnumerateFileSystemInfos().OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            string path = UkfsMount.Combine(dest, child.Name);
            try
            {
                Copy(child, path);
            }
            catch (UkfsException e) when (e.Errno is Errno.EPERM or Errno.EOPNOTSUPP)
            {
                _ctx.Warn($"newfs: {child.FullName}: the file system cannot store it: {e.Message}");
            }
            catch (UkfsException e)
            {
                _ctx.Error($"newfs: {child.FullName}: {e.Message}");
            }
        }
    }

    private void Copy(FileSystemInfo info, string path)
    {
        if (info.LinkTarget is string target)
        {
            _fs.Symlink(target, path);
            Attributes(path, info, follow: false);
            return;
        }
        if (info is DirectoryInfo dir)
        {
            _fs.Mkdir(path, 0x1C0);
            _directories.Add((path, dir));
            CopyChildren(dir, path);
            return;
        }
        var st = HostNodes.Lstat(info.FullName);
        if (st is not { Type: TypeRegular } s)
        {
            _ctx.Warn($"newfs: {info.FullName}: not a regular file, folder or link; not copied");
            return;
        }
        if (s.Nlink > 1 && _linked.TryGetValue((s.Dev, s.Ino), out string? first))
        {
            _fs.Link(first, path);
            return;
        }
        using (var input = new FileStream(info.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan))
        using (UkfsFileStream output = _fs.Open(path, FileMode.CreateNew, FileAccess.Write, 0x180))
        {
            int n;
            while ((n = input.Read(_buffer)) > 0)
            {
                output.Write(_buffer.AsSpan(0, n));
            }
        }
        if (s.Nlink > 1)
        {
            _linked[(s.Dev, s.Ino)] = path;
        }
        Attributes(path, info);
    }

    private void Attributes(string path, FileSystemInfo info, bool follow = true)
    {
        try
        {
            if (follow)
            {
                _fs.Chmod(path, (uint)info.UnixFileMode & 0xFFF);
            }
            if (HostNodes.IsRoot && HostNodes.Lstat(info.FullName) is { } s && (s.Uid != 0 || s.Gid != 0))
            {
                _fs.Chown(path, s.Uid, s.Gid, follow);
            }
            _fs.SetTimes(path,
                Timespec.FromDateTimeOffset(new DateTimeOffset(info.LastAccessTimeUtc)),
                Timespec.FromDateTimeOffset(new DateTimeOffset(info.LastWriteTimeUtc)), follow);
        }
        catch (UkfsException e) when (e.Errno is Errno.EPERM or Errno.EOPNOTSUPP or Errno.EINVAL)
        {
            _ctx.Warn($"newfs: {path}: attributes not fully kept: {e.Message}");
        }
    }
}
