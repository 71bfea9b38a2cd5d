namespace RumpFs.Kernel;

/// <summary>
/// Who performs an operation: effective uid, gid and supplementary groups, as the kernel's
/// kauth_cred_t. Immutable; permission checks in the VFS read it.
/// </summary>
public sealed class Credentials
{
    private readonly uint[] _groups;

    public Credentials(uint uid, uint gid, IEnumerable<uint>? groups = null, int pid = 0)
    {
        Uid = uid;
        Gid = gid;
        Pid = pid;
        _groups = groups?.ToArray() ?? [];
    }

    /// <summary>The superuser, for internal operations (mount, fsck, tests).</summary>
    public static Credentials Root { get; } = new(0, 0);

    public uint Uid { get; }
    public uint Gid { get; }

    /// <summary>Process id of the caller where known (FUSE requests carry one), else 0.</summary>
    public int Pid { get; }

    public IReadOnlyList<uint> Groups => _groups;

    public bool IsRoot => Uid == 0;

    /// <summary>True when <paramref name="gid"/> is the primary or a supplementary group.</summary>
    public bool InGroup(uint gid) => gid == Gid || Array.IndexOf(_groups, gid) >= 0;

    public override string ToString() => $"uid={Uid} gid={Gid} groups=[{string.Join(',', _groups)}]";
}
