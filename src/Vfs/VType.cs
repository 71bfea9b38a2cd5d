namespace RumpFs.Vfs;

/// <summary>The type of a vnode, as the kernel's enum vtype.</summary>
public enum VType
{
    None = 0,
    Regular,
    Directory,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

/// <summary>Conversions between <see cref="VType"/> and st_mode / d_type values.</summary>
public static class VTypeExtensions
{
    /// <summary>The S_IFMT bits of st_mode for this type.</summary>
    public static uint ToModeBits(this VType type) => type switch
    {
        VType.Regular => 0x8000,
        VType.Directory => 0x4000,
        VType.Symlink => 0xA000,
        VType.CharDevice => 0x2000,
        VType.BlockDevice => 0x6000,
        VType.Fifo => 0x1000,
        VType.Socket => 0xC000,
        _ => 0,
    };

    /// <summary>The type named by the S_IFMT bits of a st_mode value.</summary>
    public static VType FromModeBits(uint mode) => (mode & 0xF000) switch
    {
        0x8000 => VType.Regular,
        0x4000 => VType.Directory,
        0xA000 => VType.Symlink,
        0x2000 => VType.CharDevice,
        0x6000 => VType.BlockDevice,
        0x1000 => VType.Fifo,
        0xC000 => VType.Socket,
        _ => VType.None,
    };

    /// <summary>The DT_* value readdir(3) reports for this type.</summary>
    public static byte ToDirentType(this VType type) => type switch
    {
        VType.Regular => 8,
        VType.Directory => 4,
        VType.Symlink => 10,
        VType.CharDevice => 2,
        VType.BlockDevice => 6,
        VType.Fifo => 1,
        VType.Socket => 12,
        _ => 0,
    };
}
