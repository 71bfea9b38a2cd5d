using RumpFs.Kernel;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>
/// Names on a mount whose names ignore case (FAT). The kernel caches one dentry per spelling
/// looked up ("data.txt", "DATA.TXT", "Data.TXT."), each for entry_timeout, while Linux's own
/// vfat folds case and trailing dots in its dentry hash and so keeps one per file. A rename
/// or removal under one spelling moves or drops only that dentry; the others would go on
/// naming the old node until they expire. Two rules keep every cached name true, as on vfat:
/// <list type="bullet">
/// <item>Only the stored spelling (the one READDIR lists) is cached for entry_timeout. Any
/// other spelling is answered with entry_valid 0: the kernel looks it up again at each use,
/// so it can never outlive the entry.</item>
/// <item>A RENAME, UNLINK or RMDIR that names an entry under another spelling, or leaves the
/// kernel a moved dentry under a spelling that is not the stored one, would leave a cached
/// stored-spelling dentry naming the old node. Before its reply, the worker sends
/// FUSE_NOTIFY_INC_EPOCH, after which every name cached before is looked up again once:
/// the stale one is gone before the system call returns, at the price of one LOOKUP per name
/// still in use. A kernel older than 7.44 lacks it; then the stale names are dropped with
/// FUSE_NOTIFY_INVAL_ENTRY from the notifier's thread after the reply (the kernel holds the
/// directory's lock until the system call returns, so a worker cannot send it), which leaves
/// a short window in which the old name still answers.</item>
/// </list>
/// Mounts whose names are exact (<see cref="Mount.NamesIgnoreCase"/> false) skip all of it.
/// </summary>
internal sealed partial class P2kFileSystem
{
    /// <summary>Whether the kernel knows FUSE_NOTIFY_INC_EPOCH (7.44); cleared if it refuses one.</summary>
    private volatile bool _epochNotify;

    /// <summary>entry_valid for an entry the kernel is told of under <paramref name="name"/> in <paramref name="dvp"/>.</summary>
    private FuseTimeout EntryValid(Vnode dvp, string name) =>
        !_mount.NamesIgnoreCase || StoredSpellingIs(dvp, name) ? _entryValid : default;

    /// <summary>Whether <paramref name="name"/> is how <paramref name="dvp"/> stores the entry it finds.</summary>
    private static bool StoredSpellingIs(Vnode dvp, string name) =>
        Vop.StoredName(dvp, name, out string stored) == Errno.OK && string.Equals(stored, name, StringComparison.Ordinal);

    /// <summary>
    /// Before a RENAME, UNLINK or RMDIR: the stored spelling of the entry that
    /// <paramref name="name"/> finds when it is another one, which the kernel may hold cached
    /// and which the operation makes stale; null when names are exact, the spelling is the
    /// stored one, or nothing is found.
    /// </summary>
    private string? OtherStoredSpelling(Vnode dvp, string name)
    {
        if (!_mount.NamesIgnoreCase || Vop.StoredName(dvp, name, out string stored) != Errno.OK)
        {
            return null;
        }
        return string.Equals(stored, name, StringComparison.Ordinal) ? null : stored;
    }

    /// <summary>
    /// A successful operation left the kernel holding <paramref name="stale"/> names (parent
    /// node id, name) that no longer name what they did. Increment the kernel's epoch now,
    /// before the reply; returns the names the caller must have the notifier drop after its
    /// reply when the kernel lacks the epoch (empty when nothing is left to do).
    /// </summary>
    private List<(ulong Parent, string Name)> DropStaleNames(List<(ulong Parent, string Name)> stale)
    {
        if (stale.Count == 0 || _notifier is not { } notifier || !_epochNotify)
        {
            return stale;
        }
        Errno e = notifier.IncrementEpoch();
        if (e == Errno.OK)
        {
            return [];
        }
        if (e == Errno.EINVAL)
        {
            _epochNotify = false;
        }
        KernelLog.Debug("p2k", $"notify inc_epoch: {e.Describe()}; dropping {stale.Count} name(s) one by one");
        return stale;
    }

    /// <summary>After the reply: what <see cref="DropStaleNames"/> could not do at once.</summary>
    private void DropStaleNamesLater(List<(ulong Parent, string Name)> stale)
    {
        foreach ((ulong parent, string name) in stale)
        {
            _notifier?.InvalidateEntry(parent, name);
        }
    }
}
