using System.Collections.Concurrent;

namespace RumpFs.Kernel;

/// <summary>Severity of a log line.</summary>
public enum LogLevel
{
    Debug,
    Info,
    Warning,
    Error,
}

/// <summary>
/// The rump kernel's console. Lines go to a sink (stderr by default) as
/// "rumpfs: [subsystem] message". Corruption reports go through <see cref="CorruptionOnce"/>
/// so that a damaged block is named once, not on every access.
/// </summary>
public static class KernelLog
{
    private static readonly ConcurrentDictionary<string, byte> s_reported = new();
    private static readonly Lock s_sinkLock = new();
    private static Action<LogLevel, string> s_sink = DefaultSink;

    /// <summary>The lowest level that reaches the sink.</summary>
    public static LogLevel MinimumLevel { get; set; } = LogLevel.Info;

    /// <summary>Replace where lines go (tests capture them; daemons may add syslog).</summary>
    public static void SetSink(Action<LogLevel, string> sink)
    {
        lock (s_sinkLock)
        {
            s_sink = sink;
        }
    }

    public static void Write(LogLevel level, string subsystem, string message)
    {
        if (level < MinimumLevel)
        {
            return;
        }
        Action<LogLevel, string> sink;
        lock (s_sinkLock)
        {
            sink = s_sink;
        }
        sink(level, $"rumpfs: [{subsystem}] {message}");
    }

    public static void Debug(string subsystem, string message) => Write(LogLevel.Debug, subsystem, message);
    public static void Info(string subsystem, string message) => Write(LogLevel.Info, subsystem, message);
    public static void Warning(string subsystem, string message) => Write(LogLevel.Warning, subsystem, message);
    public static void Error(string subsystem, string message) => Write(LogLevel.Error, subsystem, message);

    /// <summary>
    /// Report corrupt on-disk data once per (subsystem, location) and return EIO, so a
    /// parser can write <c>return KernelLog.CorruptionOnce("ffs", blk, "bad magic");</c>.
    /// </summary>
    public static Errno CorruptionOnce(string subsystem, long block, string what)
    {
        string key = $"{subsystem}:{block}:{what}";
        if (s_reported.TryAdd(key, 0))
        {
            Write(LogLevel.Error, subsystem, $"corrupt metadata at block {block}: {what}");
        }
        return Errno.EIO;
    }

    private static void DefaultSink(LogLevel level, string line) => Console.Error.WriteLine(line);
}
