using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// Standard output written with write(2), whose failures are reported. .NET's console
/// stream drops EPIPE silently, so `ukfs IMAGE cat BIG | head` would go on reading the
/// whole file into a closed pipe; this one throws <see cref="BrokenPipeException"/> at
/// the first write after the reader went away, as SIGPIPE would stop cat. write(2) (not a
/// FileStream's pwrite) keeps the shared offset of a `>>` file or a `( ...; ...) > f` group.
/// </summary>
internal sealed unsafe class StandardOutput : Stream
{
    private const int EINTR = 4;
    private const int EPIPE = 32;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            long n;
            fixed (byte* p = buffer)
            {
                n = write(1, p, (size_t)buffer.Length);
            }
            if (n < 0)
            {
                int e = errno;
                if (e == EINTR)
                {
                    continue;
                }
                throw e == EPIPE ? new BrokenPipeException() : new IOException($"standard output: {new System.ComponentModel.Win32Exception(e).Message}", e);
            }
            buffer = buffer[(int)n..];
        }
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>The reader of standard output went away (EPIPE): stop quietly, as a process killed by SIGPIPE.</summary>
internal sealed class BrokenPipeException() : IOException("standard output: Broken pipe", 32)
{
    /// <summary>The exit status a shell shows for a process ended by SIGPIPE (128 + 13).</summary>
    public const int ExitStatus = 141;
}
