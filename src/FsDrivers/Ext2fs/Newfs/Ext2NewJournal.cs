using JSB = RumpFs.FsDrivers.Ext2fs.OnDisk.JournalSuperblock;

namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>
/// The superblock of a new, empty internal jbd2 journal, as mke2fs writes it: version 2, no
/// features (the kernel turns on checksums at its first mount), one user, the log starting
/// at block 1 and s_start 0, meaning clean: nothing to replay.
/// </summary>
internal static class Ext2NewJournal
{
    public const uint Inode = 8;

    public static byte[] Superblock(int blockSize, uint blocks, ReadOnlySpan<byte> fsUuid)
    {
        var b = new byte[blockSize];
        JSB.SetU32(b, JSB.HeaderOff.Magic, JSB.Magic);
        JSB.SetU32(b, JSB.HeaderOff.BlockType, JSB.BlockSuperV2);
        JSB.SetU32(b, JSB.Off.BlockSize, (uint)blockSize);
        JSB.SetU32(b, JSB.Off.MaxLen, blocks);
        JSB.SetU32(b, JSB.Off.First, 1);
        JSB.SetU32(b, JSB.Off.Sequence, 1);
        JSB.SetU32(b, JSB.Off.Start, 0);
        JSB.SetU32(b, JSB.Off.NrUsers, 1);
        fsUuid.CopyTo(b.AsSpan(JSB.Off.Uuid, 16));
        return b;
    }
}
