using RumpFs.Kernel;
using RumpFs.Ukfs;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>
/// get SOURCE [DEST]: copy from the image to the host, recursively, keeping modes and times
/// (to the nanosecond, links' own included), symbolic links as links, hard links as hard
/// links, fifos and sockets, and as root device nodes and owners (as cp -a and tar do for root).
/// Nothing is written outside DEST: every name from the image is checked (no "/", ".",
/// "..", NUL), and nothing is written through a symbolic link that exists on the host,
/// including one this copy has just created from the image.
/// </summary>
internal sealed class CopyOut
{
    private readonly CommandContext _ctx;
    private readonly Progress _progress;
    private const int HostWriteSize = 128 << 10;

    private readonly PipelinedCopy _pipe = new();
    private readonly Dictionary<ulong, string> _linked = [];
    private readonly DirectoryCycles _cycles = new();
    private readonly List<(string Src, string Host, VAttr Va)> _directories = [];
    private string? _namedFile;

    private CopyOut(CommandContext ctx)
    {
        _ctx = ctx;
        _progress = new Progress(ctx.Err, "get", ctx.Progress);
    }

    public static int Run(CommandContext ctx, GetOptions o)
    {
        if (o.Dest == "-")
        {
            return ToStandardOutput(ctx, o.Source);
        }
        var copy = new CopyOut(ctx);
        string source = o.Source;
        VAttr va = ctx.Mount.Lstat(source);
        string dest = o.Dest ?? ".";
        string name = Path.GetFileName(source.TrimEnd('/'));
        // DEST itself is the user's choice and may be a link to a folder; below it, nothing is followed.
        string target = HostFiles.IsDirectory(dest) || dest.EndsWith('/')
            ? (name.Length == 0 ? dest : Path.Combine(dest, name))
            : dest;
        if (name.Length == 0 && va.Type == VType.Directory)
        {
            HostFiles.CreateDirectories(target);
        }
        if (target == dest)
        {
            copy._namedFile = dest;
        }
        copy.Copy(source, target, va, isRootOfCopy: name.Length == 0);
        // Directory modes and times last, deepest first: writing into them changed their
        // times, and a read-only mode would have blocked the copy.
        foreach ((string src, string host, VAttr dva) in copy._directories.AsEnumerable().Reverse())
        {
            copy.SetModeAndTimes(src, host, dva);
        }
        copy._progress.Finish();
        return 0;
    }

    /// <summary>get FILE -: the file's bytes on standard output, as put - reads standard input.</summary>
    private static int ToStandardOutput(CommandContext ctx, string source)
    {
        if (ctx.Mount.Stat(source).Type != VType.Regular)
        {
            throw new UsageException($"get: {source}: only a file can be written to standard output ('-')");
        }
        return FileCommands.Cat(ctx, new CatOptions { Paths = [source] });
    }

    private void Copy(string src, string host, VAttr va, bool isRootOfCopy = false)
    {
        if (!isRootOfCopy && IsSymlink(host))
        {
            throw new UkfsException(Errno.EEXIST, host, $"{host}: is a symbolic link on the host; refusing to write through it");
        }
        switch (va.Type)
        {
            case VType.Directory:
                CopyDirectory(src, host, va, isRootOfCopy);
                return;
            case VType.Regular:
                if (va.Nlink > 1 && _linked.TryGetValue(va.Ino, out string? first))
                {
                    Replace(host);
                    ReportHost(HostNodes.Link(first, host), host);
                    return;
                }
                CopyFile(src, host, va);
                if (va.Nlink > 1)
                {
                    _linked[va.Ino] = host;
                }
                return;
            case VType.Symlink:
                string linkTarget = _ctx.Mount.ReadLink(src);
                Replace(host);
                HostFiles.Symlink(linkTarget, host);
                SetModeAndTimes(src, host, va);
                return;
            case VType.Fifo or VType.Socket:
            case VType.CharDevice or VType.BlockDevice when HostNodes.IsRoot:
                Replace(host);
                if (ReportHost(HostNodes.Mknod(host, va.Type, va.Mode, va.Rdev), host))
                {
                    SetModeAndTimes(src, host, va);
                }
                return;
            default:
                _ctx.Warn($"{src}: {Format.TypeName(va.Type)} not copied (device nodes need root)");
                return;
        }
    }

    private void CopyDirectory(string src, string host, VAttr va, bool isRootOfCopy)
    {
        if (!HostFiles.IsDirectory(host))
        {
            HostFiles.CreateDirectories(host);
        }
        else if (!isRootOfCopy && IsSymlink(host))
        {
            throw new UkfsException(Errno.EEXIST, host, $"{host}: is a symbolic link on the host; refusing to write through it");
        }
        if (!isRootOfCopy)
        {
            _directories.Add((src, host, va));
        }
        if (!_cycles.TryEnter(_ctx, src, va.Ino))
        {
            return;
        }
        try
        {
            CopyEntries(src, host);
        }
        finally
        {
            _cycles.Leave(va.Ino);
        }
    }

    private void CopyEntries(string src, string host)
    {
        foreach (UkfsDirEntry e in _ctx.ListDirectory(src))
        {
            if (!SafeName(e.Name))
            {
                _ctx.Error($"{UkfsMount.Combine(src, e.Name)}: unsafe name in the image, not copied");
                continue;
            }
            try
            {
                Copy(UkfsMount.Combine(src, e.Name), Path.Combine(host, e.Name), e.Attributes);
            }
            catch (UkfsException ex)
            {
                _ctx.Error(ex.Message);
            }
            catch (HostIOException ex)
            {
                _ctx.Error(ex.Message);
            }
        }
    }

    private void CopyFile(string src, string host, VAttr va)
    {
        // A new file is created without the ftruncate(0) that FileMode.Create adds: on ext4 that
        // truncation marks the file as "replaced", and close() then writes the whole file back
        // synchronously (auto_da_alloc), which cost a quarter of a 512 MiB get.
        // A fifo, device or socket in the way is replaced like any other node, except when
        // the user named it as DEST (`get /f /dev/null`): then the data goes into it, as cp
        // does, and its size, mode and times are left alone.
        VType? existing = HostNodes.Lstat(host)?.Type;
        bool intoSpecial = existing is VType type && HostNodes.IsSpecial(type);
        if (intoSpecial && host != _namedFile)
        {
            Replace(host);
            intoSpecial = false;
            existing = null;
        }
        FileMode mode = intoSpecial ? FileMode.Open : existing is not null ? FileMode.Create : FileMode.CreateNew;
        try
        {
            using UkfsFileStream input = _ctx.Mount.Open(src);
            using FileStream output = HostFiles.OpenWrite(host, mode, intoSpecial ? 0 : PreallocationFor(va));
            CopyData(input, output, va, keepHoles: !intoSpecial);
            if (!intoSpecial)
            {
                output.SetLength(output.Position);
            }
        }
        catch (ArgumentException)
        {
            // FileStream.SetLength and Seek refuse a length the host file system cannot hold.
            throw new HostIOException(host, $"the host file system cannot hold a file of {va.Size} bytes");
        }
        catch (IOException e) when (e is not (UkfsException or HostIOException))
        {
            throw new HostIOException(host, e.Message);
        }
        if (!intoSpecial)
        {
            SetModeAndTimes(src, host, va);
        }
    }

    /// <summary>
    /// Host storage reserved up front for a large file without holes: a full host disk fails
    /// the copy before it starts, and the host file system allocates once instead of per
    /// written page (ext4: no delayed-allocation reservation per page). Interleaved cold
    /// runs of a 512 MiB get were 10–35 ms faster with it when the machine's memory was
    /// cheap to touch, and level with it otherwise. The reservation leaves the file's size
    /// alone, so a copy that fails part way shows how far it got. A file with holes is not
    /// reserved: that would fill them on the host.
    /// </summary>
    internal static long PreallocationFor(VAttr va) =>
        va.Size > PipelinedCopy.InlineUpTo && va.BytesUsed >= va.Size ? va.Size : 0;

    /// <summary>
    /// The image is read on another thread, several chunks ahead of the host writes, so the
    /// disk keeps reading while the host file takes the data. A file with less storage than
    /// size may have holes: only its data ranges are read (SEEK_DATA / SEEK_HOLE, as cp
    /// does), so a sparse file of any size copies in the time its data takes, and the holes
    /// stay holes on the host (the caller's SetLength gives the file its size).
    /// </summary>
    private void CopyData(UkfsFileStream input, FileStream output, VAttr va, bool keepHoles)
    {
        if (!keepHoles || va.BytesUsed >= va.Size)
        {
            CopyRange(input, output, 0, va.Size, skipZeroChunks: false);
            return;
        }
        long pos = 0;
        foreach ((long data, long hole) in DataRanges.Of(input, va.Size))
        {
            _progress.Add(data - pos);
            output.Seek(data, SeekOrigin.Begin);
            // Zeros the driver keeps as data (unwritten extents, zeroed blocks) become holes too.
            CopyRange(input, output, data, hole - data, skipZeroChunks: true);
            pos = hole;
        }
        _progress.Add(va.Size - pos);
        output.Seek(va.Size, SeekOrigin.Begin);
    }

    /// <summary>Copy <paramref name="length"/> bytes from <paramref name="start"/> through the pipeline; the output is already there.</summary>
    private void CopyRange(UkfsFileStream input, FileStream output, long start, long length, bool skipZeroChunks)
    {
        input.Position = start;
        long toRead = length;
        long remaining = length;
        _pipe.Run(length, buffer =>
        {
            int n = input.Read(buffer.Span[..(int)Math.Min(buffer.Length, toRead)]);
            toRead -= n;
            return n;
        }, chunk =>
        {
            int n = chunk.Length;
            if (skipZeroChunks && n == PipelinedCopy.ChunkSize && remaining > n && IsZero(chunk.Span))
            {
                output.Seek(n, SeekOrigin.Current);
            }
            else
            {
                WriteInPieces(output, chunk.Span);
            }
            remaining -= n;
            _progress.Add(n);
        });
    }

    /// <summary>
    /// Host writes of at most <see cref="HostWriteSize"/> bytes. The host kernel sizes the
    /// page-cache folios of a new file by the write, and a 1 MiB write asks for 1 MiB of
    /// physically contiguous memory: when memory is fragmented that allocation compacts,
    /// and a 512 MiB get took 1.0–1.3 s in 1 MiB writes against 0.29–0.33 s in 128 KiB
    /// ones (dd with obs=1M and obs=128k showed the same). mcopy writes 63 KiB at a time.
    /// </summary>
    private static void WriteInPieces(FileStream output, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            int n = Math.Min(data.Length, HostWriteSize);
            output.Write(data[..n]);
            data = data[n..];
        }
    }

    private static bool IsZero(ReadOnlySpan<byte> s) => !s.ContainsAnyExcept((byte)0);

    /// <summary>A name that stays inside its folder on the host.</summary>
    internal static bool SafeName(string name) =>
        name.Length > 0 && name is not ("." or "..") && !name.Contains('/', StringComparison.Ordinal)
        && !name.Contains('\0', StringComparison.Ordinal);

    private static bool IsSymlink(string path) => HostNodes.Lstat(path)?.Type == VType.Symlink;

    /// <summary>Remove a non-directory in the way (never a directory, never through a link).</summary>
    private static void Replace(string host)
    {
        if (HostNodes.Lstat(host) is HostStat st && st.Type != VType.Directory)
        {
            HostFiles.Delete(host);
        }
    }

    /// <summary>
    /// The image node's extended attributes onto the host node. One the host refuses (a
    /// name space it lacks, trusted.* or security.* without root) is named once per name space.
    /// </summary>
    private void CopyXattrs(string src, string host)
    {
        foreach (string name in _ctx.Mount.ListXattrs(src, follow: false))
        {
            byte[] value;
            try
            {
                value = _ctx.Mount.GetXattr(src, name, follow: false);
            }
            catch (UkfsException e) when (e.Errno == Errno.ENODATA)
            {
                continue;
            }
            if (HostXattrs.Set(host, name, value) is string error)
            {
                string space = HostXattrs.NameSpace(name);
                _ctx.WarnOnce("xattr " + space, $"{host}: extended attribute {name} not kept: {error} (further {space}.* ones not shown)");
            }
        }
    }

    /// <summary>Report a failed host call (<paramref name="error"/> not null); true when it succeeded.</summary>
    private bool ReportHost(string? error, string host)
    {
        if (error is not null)
        {
            _ctx.Error($"{host}: {error}");
        }
        return error is null;
    }

    /// <summary>
    /// Owner (root only; a change of owner clears set-id bits and file capabilities), then
    /// extended attributes (before a read-only mode would refuse them), mode (a symbolic
    /// link has none of its own), times: all on the node itself.
    /// </summary>
    private void SetModeAndTimes(string src, string host, VAttr va)
    {
        if (HostNodes.IsRoot)
        {
            ReportHost(HostNodes.Lchown(host, va.Uid, va.Gid), host);
        }
        CopyXattrs(src, host);
        if (va.Type != VType.Symlink)
        {
            HostFiles.Chmod(host, va.Mode);
        }
        ReportHost(HostNodes.SetTimes(host, va.Atime, va.Mtime), host);
    }
}
