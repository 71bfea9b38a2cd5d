using System.Net.Sockets;
using System.Text;
using RumpFs.Kernel;

namespace RumpFs.P2k.Daemon;

/// <summary>
/// Log lines of a detached daemon, sent to the system log as other daemons do: one datagram
/// "&lt;PRI&gt;IDENT[PID]: MESSAGE" per line to the syslog socket (/dev/log), facility daemon.
/// Without a listening syslog the lines are dropped, as stderr's were once it pointed at
/// /dev/null; sending never blocks the daemon.
/// </summary>
internal sealed class SyslogSink : IDisposable
{
    /// <summary>Where syslog daemons (rsyslog, journald, busybox syslogd) listen.</summary>
    public const string DefaultSocket = "/dev/log";

    private const int FacilityDaemon = 3;

    private readonly string _ident;
    private readonly Lock _lock = new();
    private readonly Socket? _socket;

    public SyslogSink(string socketPath, string ident)
    {
        _ident = ident;
        try
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { Blocking = false };
            s.Connect(new UnixDomainSocketEndPoint(socketPath));
            _socket = s;
        }
        catch (SocketException)
        {
            _socket = null;
        }
    }

    /// <summary>True when a syslog socket was there to connect to.</summary>
    public bool Connected => _socket is not null;

    public void Write(LogLevel level, string line)
    {
        if (_socket is null)
        {
            return;
        }
        const string prefix = "rumpfs: ";
        string message = line.StartsWith(prefix, StringComparison.Ordinal) ? line[prefix.Length..] : line;
        int pri = FacilityDaemon * 8 + Severity(level);
        byte[] datagram = Encoding.UTF8.GetBytes($"<{pri}>{_ident}[{Environment.ProcessId}]: {message}");
        lock (_lock)
        {
            try
            {
                _socket.Send(datagram);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // A full or vanished syslog (or a line after shutdown) is lost; the daemon goes on.
            }
        }
    }

    /// <summary>syslog(3) severities: err 3, warning 4, info 6, debug 7.</summary>
    private static int Severity(LogLevel level) => level switch
    {
        LogLevel.Error => 3,
        LogLevel.Warning => 4,
        LogLevel.Info => 6,
        _ => 7,
    };

    public void Dispose() => _socket?.Dispose();
}
