using RumpFs.Kernel;
using RumpFs.Ukfs;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>
/// put SOURCE [DEST]: copy from the host into the image, recursively, keeping modes and
/// times; symbolic links are copied as links (never followed). Hard links on the host
/// become separate files; device nodes, fifos and sockets are skipped with a warning.
/// </summary>
internal sealed class CopyIn
{
    private readonly CommandContext _ctx;
    private readonly Progress _progress;
    private readonly PipelinedCopy _pipe = new();
    private readonly List<(string Path, FileSystemInfo Info)> _directories = [];

    private CopyIn(CommandContext ctx)
    {
        _ctx = ctx;
        _progress = new Progress(ctx.Err, "put", ctx.Progress);
    }

    public static int Run(CommandContext ctx, PutOptions o)
    {
        string source = o.Source;
        FileSystemInfo info = Directory.Exists(source) && !CopyOut.IsSymlink(source)
            ? new DirectoryInfo(source)
            : new FileInfo(source);
        if (!info.Exists && info.LinkTarget is null)
        {
            throw new UsageException($"{source}: no such file or directory on the host");
        }
        string dest = o.Dest ?? "/";
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(source));
        if (name is "" or "." or "..")
        {
            name = "";
        }
        string target = dest;
        if (IsImageDirectory(ctx.Mount, dest) && name.Length > 0)
        {
            target = UkfsMount.Combine(dest, name);
        }
        var copy = new CopyIn(ctx);
        copy.Copy(info, target);
        foreach ((string path, FileSystemInfo dir) in copy._directories.AsEnumerable().Reverse())
        {
            copy.SetModeAndTimes(path, dir);
        }
        copy._progress.Finish();
        ctx.Mount.Sync();
        return 0;
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

    private void Copy(FileSystemInfo info, string dest)
    {
        try
        {
            if (info.LinkTarget is string target)
            {
                ReplaceNonDirectory(dest);
                _ctx.Mount.Symlink(target, dest);
            }
            else if (info is DirectoryInfo dir)
            {
                CopyDirectory(dir, dest);
            }
            else if (HostNodes.Lstat(info.FullName) is not { Type: 0x8000 })
            {
                _ctx.Warn($"{info.FullName}: not a regular file, directory or link; not copied");
            }
            else
            {
                CopyFile((FileInfo)info, dest);
            }
        }
        catch (UkfsException e)
        {
            _ctx.Error(e.Message);
        }
    }

    private void CopyDirectory(DirectoryInfo dir, string dest)
    {
        if (!IsImageDirectory(_ctx.Mount, dest))
        {
            _ctx.Mount.Mkdir(dest, 0x1C0); // owner-only until its real mode is set at the end
        }
        _directories.Add((dest, dir));
        foreach (FileSystemInfo child in dir.EnumerateFileSystemInfos().OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            Copy(child, UkfsMount.Combine(dest, child.Name));
        }
    }

    private void CopyFile(FileInfo file, string dest)
    {
        using (var input = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan))
        using (UkfsFileStream output = _ctx.Mount.Open(dest, FileMode.Create, FileAccess.Write, 0x180))
        {
            _pipe.Run(file.Length, buffer => input.Read(buffer.Span), chunk =>
            {
                output.Write(chunk.Span);
                _progress.Add(chunk.Length);
            });
        }
        SetModeAndTimes(dest, file);
    }

    private void ReplaceNonDirectory(string dest)
    {
        if (_ctx.Mount.Exists(dest) && _ctx.Mount.Lstat(dest).Type != VType.Directory)
        {
            _ctx.Mount.Remove(dest);
        }
    }

    private void SetModeAndTimes(string dest, FileSystemInfo info)
    {
        _ctx.Mount.Chmod(dest, (uint)info.UnixFileMode & 0xFFF);
        _ctx.Mount.SetTimes(dest,
            Timespec.FromDateTimeOffset(new DateTimeOffset(info.LastAccessTimeUtc)),
            Timespec.FromDateTimeOffset(new DateTimeOffset(info.LastWriteTimeUtc)));
    }
}
