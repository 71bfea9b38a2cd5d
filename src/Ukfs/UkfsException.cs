using RumpFs.Kernel;

namespace RumpFs.Ukfs;

/// <summary>
/// A failed Ukfs operation: the errno the file system reported and the path it concerned.
/// The message reads like a Unix tool's ("/etc/passwd: No such file or directory").
/// </summary>
public sealed class UkfsException : IOException
{
    /// <summary>Create an exception for <paramref name="errno"/> on <paramref name="path"/>.</summary>
    /// <param name="errno">The error number.</param>
    /// <param name="path">The path (or image) the operation concerned.</param>
    /// <param name="message">A message; by default "path: description of errno".</param>
    public UkfsException(Errno errno, string path, string? message = null)
        : base(message ?? $"{path}: {errno.Describe()}", (int)errno)
    {
        Errno = errno;
        Path = path;
    }

    /// <summary>The error number (Linux value).</summary>
    public Errno Errno { get; }

    /// <summary>The path the failed operation was given.</summary>
    public string Path { get; }
}
