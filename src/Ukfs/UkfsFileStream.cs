using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.Ukfs;

/// <summary>
/// An open regular file of a <see cref="UkfsMount"/> as a <see cref="Stream"/>. Unbuffered:
/// each Read and Write is one vnode operation, so bigger buffers move data faster. Flush
/// has nothing to do (no buffer of its own); <see cref="Fsync"/> makes the file durable.
/// </summary>
public sealed class UkfsFileStream : Stream
{
    private readonly Vnode _vp;
    private readonly int _openFlags;
    private readonly string _path;
    private readonly Credentials _cred;
    private long _position;
    private bool _closed;

    internal UkfsFileStream(Vnode vp, int openFlags, string path, Credentials cred, bool append)
    {
        _vp = vp;
        _openFlags = openFlags;
        _path = path;
        _cred = cred;
        CanRead = (openFlags & OpenFlags.AccessMask) is OpenFlags.ReadOnly or OpenFlags.ReadWrite;
        CanWrite = (openFlags & OpenFlags.AccessMask) is OpenFlags.WriteOnly or OpenFlags.ReadWrite;
        Append = append;
        if (append)
        {
            _position = Length;
        }
    }

    /// <summary>The path the stream was opened with.</summary>
    public string Path => _path;

    /// <summary>True when every write goes to the end of the file.</summary>
    public bool Append { get; }

    /// <inheritdoc/>
    public override bool CanRead { get; }

    /// <inheritdoc/>
    public override bool CanSeek => !_closed;

    /// <inheritdoc/>
    public override bool CanWrite { get; }

    /// <inheritdoc/>
    public override long Length
    {
        get
        {
            ThrowIfClosed();
            UkfsMount.Check(Vop.GetAttr(_vp, out VAttr va), _path);
            return va.Size;
        }
    }

    /// <inheritdoc/>
    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        ThrowIfClosed();
        if (!CanRead)
        {
            throw new NotSupportedException("stream is not readable");
        }
        UkfsMount.Check(Vop.Read(_vp, _position, buffer, out int n), _path);
        _position += n;
        return n;
    }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfClosed();
        if (!CanWrite)
        {
            throw new NotSupportedException("stream is not writable");
        }
        if (Append)
        {
            _position = Length;
        }
        while (!buffer.IsEmpty)
        {
            UkfsMount.Check(Vop.Write(_vp, _position, buffer, _cred, out int written), _path);
            if (written <= 0)
            {
                throw new UkfsException(Errno.ENOSPC, _path);
            }
            _position += written;
            buffer = buffer[written..];
        }
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin)
    {
        ThrowIfClosed();
        long target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => Length + offset,
        };
        if (target < 0)
        {
            throw new UkfsException(Errno.EINVAL, _path, $"{_path}: seek before the start of the file");
        }
        _position = target;
        return target;
    }

    /// <summary>
    /// lseek(SEEK_DATA): the first offset at or after <paramref name="offset"/> that holds
    /// data, or -1 when only holes follow (ENXIO). The position does not move.
    /// </summary>
    public long NextData(long offset) => SeekDataOrHole(offset, SeekWhence.Data);

    /// <summary>
    /// lseek(SEEK_HOLE): the first hole at or after <paramref name="offset"/> (the end of
    /// the file counts as one), or -1 when <paramref name="offset"/> is at or past the end.
    /// </summary>
    public long NextHole(long offset) => SeekDataOrHole(offset, SeekWhence.Hole);

    private long SeekDataOrHole(long offset, SeekWhence whence)
    {
        ThrowIfClosed();
        Errno e = Vop.Seek(_vp, offset, whence, out long result);
        if (e == Errno.ENXIO)
        {
            return -1;
        }
        UkfsMount.Check(e, _path);
        return result;
    }

    /// <summary>Truncate or extend the file (ftruncate: needs only this writable stream, not write permission).</summary>
    public override void SetLength(long value)
    {
        ThrowIfClosed();
        if (!CanWrite)
        {
            throw new NotSupportedException("stream is not writable");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        VAttr va = VAttr.ForSet(VAttrMask.Size);
        va.Size = value;
        UkfsMount.Check(Vop.SetAttr(_vp, va, _cred, viaWritableHandle: true), _path);
    }

    /// <summary>Nothing to do: writes go straight to the file system (see <see cref="Fsync"/>).</summary>
    public override void Flush() => ThrowIfClosed();

    /// <summary>Write this file's data and metadata to the image and flush it (fsync).</summary>
    public void Fsync()
    {
        ThrowIfClosed();
        UkfsMount.Check(Vop.Fsync(_vp, dataOnly: false), _path);
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (!_closed)
        {
            _closed = true;
            Vop.Close(_vp, _openFlags);
            _vp.Release();
        }
        base.Dispose(disposing);
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(_closed, this);
}

/// <summary>open(2) flag values the VFS understands (Linux).</summary>
internal static class OpenFlags
{
    public const int ReadOnly = 0;
    public const int WriteOnly = 1;
    public const int ReadWrite = 2;
    public const int AccessMask = 3;
    public const int Truncate = 0x200;
    public const int Append = 0x400;
}
