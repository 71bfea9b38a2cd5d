using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>
/// The credentials of the call the current thread is carrying out inside a driver, as
/// NetBSD's kauth_cred_get() answers with the current lwp's credentials. <see cref="Vop"/>
/// sets them around every driver operation that may allocate storage (Write, Allocate,
/// SetAttr, Create, Mkdir, Mknod, Symlink, Link, Rename, SetXattr), so an allocator deep in
/// a driver can apply a root-only reserve (FFS minfree, ext2 reserved blocks) without the
/// credentials being threaded through every layer between. A driver's operation runs on the
/// caller's thread under the vnode lock, so a thread-local value is exact for it. Work done
/// outside any Vop call (mount, unmount, sync, fsck, a flusher) sees <see cref="Credentials.Root"/>,
/// as kernel threads do.
/// </summary>
public static class CallerCredentials
{
    [ThreadStatic]
    private static Credentials? t_current;

    /// <summary>Who the current driver operation runs for; root when no Vop call set it.</summary>
    public static Credentials Current => t_current ?? Credentials.Root;

    /// <summary>Run as <paramref name="cred"/> until the returned scope is disposed (scopes nest).</summary>
    public static Scope Enter(Credentials cred)
    {
        Credentials? previous = t_current;
        t_current = cred;
        return new Scope(previous);
    }

    /// <summary>Restores the credentials that were current before <see cref="Enter"/>.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly Credentials? _previous;

        internal Scope(Credentials? previous) => _previous = previous;

        public void Dispose() => t_current = _previous;
    }
}
