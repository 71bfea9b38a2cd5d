namespace RumpFs.P2k.Protocol;

/// <summary>How the kernel side of a FUSE mount is set up (the options of mount.fuse).</summary>
internal sealed record FuseMountOptions
{
    /// <summary>Shown as the source in /proc/mounts (the image path, or "tmpfs").</summary>
    public required string Source { get; init; }

    /// <summary>The part after "fuse." in the file-system type ("rump_ffs").</summary>
    public required string Subtype { get; init; }

    public bool ReadOnly { get; init; }
    public bool NoSuid { get; init; }
    public bool NoDev { get; init; }
    public bool NoExec { get; init; }
    public bool NoAtime { get; init; }
    public bool Synchronous { get; init; }

    /// <summary>Let the kernel check permissions against the modes we report.</summary>
    public bool DefaultPermissions { get; init; } = true;

    /// <summary>Let users other than the mounter in.</summary>
    public bool AllowOther { get; init; }
}
