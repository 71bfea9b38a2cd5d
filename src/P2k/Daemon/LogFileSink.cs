using System.Globalization;
using System.Text;
using RumpFs.Kernel;

namespace RumpFs.P2k.Daemon;

/// <summary>
/// -o logfile=PATH: log lines appended to a file, each with its UTC time, in the foreground
/// and once detached alike. The file is opened before the daemon detaches, so a path it
/// cannot write is a one-line error at start, not silence later.
/// </summary>
internal sealed class LogFileSink : IDisposable
{
    private readonly Lock _lock = new();
    private readonly StreamWriter _writer;

    private LogFileSink(StreamWriter writer) => _writer = writer;

    public static bool TryOpen(string path, out LogFileSink? sink, out string? error)
    {
        sink = null;
        error = null;
        try
        {
            var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
            sink = new LogFileSink(new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true });
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"logfile={path}: {e.Message}";
            return false;
        }
    }

    public void Write(LogLevel level, string line)
    {
        string stamp = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        lock (_lock)
        {
            try
            {
                _writer.WriteLine($"{stamp} {line}");
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // A full disk (or a line after shutdown) loses the line; the daemon goes on.
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _writer.Dispose();
        }
    }
}
