using System.Diagnostics;
using Microsoft.Win32.SafeHandles;
using RumpFs.Kernel.Host;

namespace RumpFs.Kernel.Devices;

/// <summary>
/// An image file or host block device. Opened read-only for read-only mounts; a read-write
/// open takes an exclusive open-file-description lock (F_OFD_SETLK), and a read-only open a
/// shared one, so two RumpFs processes cannot have one image open read-write at once.
/// </summary>
public sealed class FileBlockDevice : IBlockDevice
{
    private readonly SafeFileHandle _handle;
    private readonly bool _isBlockDevice;
    private readonly StreamingReadAhead _readAhead = new();

    private FileBlockDevice(SafeFileHandle handle, string path, long length, bool readOnly, bool isBlockDevice)
    {
        _handle = handle;
        Name = path;
        Length = length;
        IsReadOnly = readOnly;
        _isBlockDevice = isBlockDevice;
    }

    public int SectorSize => 512;
    public long Length { get; }
    public bool IsReadOnly { get; }
    public string Name { get; }

    /// <summary>
    /// Open <paramref name="path"/>. Fails with ENOENT, EACCES, EISDIR, EROFS (read-write on a
    /// read-only file) or EBUSY (another process holds the image) and a message for the user.
    /// </summary>
    public static Errno Open(string path, bool readOnly, out FileBlockDevice? device, out string? error)
    {
        device = null;
        error = null;
        if (Directory.Exists(path))
        {
            error = $"{path}: is a directory, not an image";
            return Errno.EISDIR;
        }
        if (!File.Exists(path) && !HostFiles.IsBlockDevice(path))
        {
            error = $"{path}: no such file";
            return Errno.ENOENT;
        }
        SafeFileHandle handle;
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = readOnly ? FileAccess.Read : FileAccess.ReadWrite,
                Share = FileShare.ReadWrite,
                Options = FileOptions.None,
            };
            handle = File.OpenHandle(path, options.Mode, options.Access, options.Share, options.Options);
        }
        catch (UnauthorizedAccessException)
        {
            error = readOnly ? $"{path}: permission denied" : $"{path}: cannot open for writing (read-only image? use -o ro)";
            return readOnly ? Errno.EACCES : Errno.EROFS;
        }
        catch (IOException e)
        {
            error = $"{path}: {e.Message}";
            return Errno.EIO;
        }

        Errno lockResult = LockWithGrace(handle, exclusive: !readOnly);
        if (lockResult != Errno.OK)
        {
            handle.Dispose();
            error = lockResult == Errno.EAGAIN
                ? $"{path}: image is in use by another process"
                : $"{path}: cannot lock image: {lockResult.Describe()}";
            return Errno.EBUSY;
        }

        bool isBlock = HostFiles.IsBlockDevice(path);
        long length;
        if (isBlock)
        {
            Errno e = HostFiles.BlockDeviceSize(handle, out length);
            if (e != Errno.OK)
            {
                handle.Dispose();
                error = $"{path}: cannot read device size: {e.Describe()}";
                return e;
            }
        }
        else
        {
            length = RandomAccess.GetLength(handle);
        }
        device = new FileBlockDevice(handle, path, length, readOnly, isBlock);
        return Errno.OK;
    }

    /// <summary>
    /// Take the image lock, retrying for a moment when it is held: a child process forked
    /// by this process holds a copy of a just-closed descriptor (and so its lock) until it
    /// execs, which would otherwise make a quick remount fail with "in use".
    /// </summary>
    private static Errno LockWithGrace(SafeFileHandle handle, bool exclusive)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMilliseconds(750);
        while (true)
        {
            Errno e = HostFiles.LockWholeFile(handle, exclusive);
            if (e != Errno.EAGAIN || DateTime.UtcNow >= deadline)
            {
                return e;
            }
            Thread.Sleep(25);
        }
    }

    public Errno Read(long offset, Span<byte> buffer)
    {
        if (!BlockDeviceChecks.InRange(offset, buffer.Length, Length))
        {
            return Errno.EIO;
        }
        (long adviseOffset, long adviseLength) = _readAhead.OnRead(offset, buffer.Length, Length);
        if (adviseLength > 0)
        {
            HostFiles.AdviseWillNeed(_handle, adviseOffset, adviseLength);
        }
        try
        {
            long started = Stopwatch.GetTimestamp();
            int done = 0;
            while (done < buffer.Length)
            {
                int n = RandomAccess.Read(_handle, buffer[done..], offset + done);
                if (n <= 0)
                {
                    return Errno.EIO;
                }
                done += n;
            }
            _readAhead.OnReadDone(offset, buffer.Length, Stopwatch.GetTimestamp() - started);
            return Errno.OK;
        }
        catch (IOException)
        {
            return Errno.EIO;
        }
    }

    public Errno Write(long offset, ReadOnlySpan<byte> data)
    {
        if (IsReadOnly)
        {
            return Errno.EROFS;
        }
        if (!BlockDeviceChecks.InRange(offset, data.Length, Length))
        {
            return Errno.EIO;
        }
        try
        {
            RandomAccess.Write(_handle, data, offset);
            return Errno.OK;
        }
        catch (IOException)
        {
            return Errno.EIO;
        }
    }

    public Errno Flush()
    {
        if (IsReadOnly)
        {
            return Errno.OK;
        }
        return HostFiles.DataSync(_handle, _isBlockDevice);
    }

    public void Dispose() => _handle.Dispose();
}
