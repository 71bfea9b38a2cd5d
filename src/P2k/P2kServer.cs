using RumpFs.Kernel;
using RumpFs.P2k.Bridge;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k;

/// <summary>Everything that decides how one mount is served.</summary>
internal sealed record P2kServerOptions
{
    public required FuseMountOptions Kernel { get; init; }
    public BridgeOptions Bridge { get; init; } = new();

    /// <summary>Worker threads reading requests.</summary>
    public int Workers { get; init; } = Math.Clamp(Environment.ProcessorCount * 2, 2, 8);

    /// <summary>Log every request and its result (-d).</summary>
    public bool Debug { get; init; }

    /// <summary>How often a read-write mount is written back (syncdelay=); zero turns it off.</summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// One VFS mount served at one mount point: the kernel mount, the request loop and the
/// bridge. Ends when the kernel side goes away (unmounted from outside) or
/// <see cref="RequestStop"/> unmounts it; <see cref="Shutdown"/> then syncs and unmounts the
/// VFS so the file system is left clean.
/// </summary>
internal sealed class P2kServer : IDisposable
{
    private readonly FuseSession _session;
    private readonly Syncer? _syncer;
    private int _stopRequested;

    private P2kServer(Mount mount, string mountPoint, P2kFileSystem fs, FuseSession session, Syncer? syncer)
    {
        Mount = mount;
        MountPoint = mountPoint;
        FileSystem = fs;
        _session = session;
        _syncer = syncer;
    }

    public Mount Mount { get; }
    public string MountPoint { get; }
    internal P2kFileSystem FileSystem { get; }

    /// <summary>Signalled when the request loop has stopped.</summary>
    public WaitHandle Ended => _session.Ended;

    public static Errno Start(Mount mount, string mountPoint, P2kServerOptions options, out P2kServer? server, out string? error)
    {
        server = null;
        Errno e = P2kFileSystem.Create(mount, options.Bridge, out P2kFileSystem? fs);
        if (e != Errno.OK)
        {
            error = $"cannot get the root directory: {e.Describe()}";
            return e;
        }
        e = KernelMount.Mount(mountPoint, options.Kernel, out FuseDevice? device, out error);
        if (e != Errno.OK)
        {
            fs!.ReleaseAll();
            return e;
        }
        var session = new FuseSession(device!, fs!, options.Workers, options.Debug);
        session.Start();
        server = new P2kServer(mount, mountPoint, fs!, session, Syncer.Start(mount, options.SyncInterval));
        return Errno.OK;
    }

    /// <summary>Unmount the kernel side (lazily when busy); the request loop then ends.</summary>
    public void RequestStop()
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) != 0 || _session.HasEnded)
        {
            return;
        }
        // Write back first: the kernel may keep a lazily unmounted file system alive a while.
        Vop.Sync(Mount);
        Errno e = KernelMount.Unmount(MountPoint);
        if (e != Errno.OK)
        {
            KernelLog.Warning("p2k", $"unmount {MountPoint}: {e.Describe()}");
        }
    }

    public bool WaitForEnd(TimeSpan timeout) => _session.Wait(timeout);

    /// <summary>
    /// After the loop has ended: drop every node and handle, sync, and unmount the VFS.
    /// Returns the unmount's result (EBUSY would mean a vnode reference leaked).
    /// </summary>
    public Errno Shutdown()
    {
        // When the daemon stops while processes still use the (lazily unmounted) mount, the
        // kernel keeps sending their requests: stop serving them first, so that nothing takes
        // a new reference while the nodes are released and the VFS unmounted.
        if (!_session.StopServing(TimeSpan.FromSeconds(30)))
        {
            KernelLog.Warning("p2k", "requests still running after 30 s; releasing the file system anyway");
        }
        _syncer?.Dispose();
        FileSystem.ReleaseAll();
        Errno sync = Vop.Sync(Mount);
        if (sync != Errno.OK)
        {
            KernelLog.Error("p2k", $"sync failed: {sync.Describe()}");
        }
        int referenced = Mount.Vnodes.ReferencedCount;
        Errno e = Mount.Unmount(force: false);
        if (e == Errno.EBUSY)
        {
            // Named only when the unmount refused: the walk over the cache is for the log line.
            string which = string.Join(", ", Mount.Vnodes.Snapshot().Where(v => v.IsReferenced).Take(24)
                .Select(v => $"{v.Ino} ({v.Type})"));
            KernelLog.Error("p2k", $"{referenced} vnodes still referenced at unmount ({which}); forcing");
            Mount.Unmount(force: true);
        }
        return sync != Errno.OK ? sync : e;
    }

    public void Dispose()
    {
        _syncer?.Dispose();
        _session.Dispose();
    }
}
