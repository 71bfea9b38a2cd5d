using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.FsDrivers.Ffs.Check;

/// <summary>
/// The repair's only way onto the device: inode records, directory and indirect blocks,
/// cylinder-group blocks, the summary area and the superblock, each encoded in the
/// image's byte order through the same on-disk records the driver uses. The first failed
/// read or write is kept in <see cref="Error"/> and every later write is skipped, so a
/// failing device never receives a half-consistent mix of later fixes.
/// </summary>
internal sealed class FfsRepairWriter(IBlockDevice dev, FfsSuperblock sb)
{
    public Errno Error { get; private set; }

    private FfsByteOrder O => sb.Order;

    private long InodeOffset(ulong ino) =>
        sb.FragToBytes(sb.InoToFsba(ino)) + ((long)sb.InoToFsbo(ino) * sb.DinodeSize);

    public void WriteInode(ulong ino, FfsDinode d)
    {
        byte[] rec = new byte[sb.DinodeSize];
        if (!Read(InodeOffset(ino), rec))
        {
            return;
        }
        FfsDinodeRecord.Encode(sb, d, rec);
        Write(InodeOffset(ino), rec);
    }

    /// <summary>Zero an inode record (clri), keeping its generation so old handles stay stale.</summary>
    public void ClearInode(ulong ino)
    {
        byte[] rec = new byte[sb.DinodeSize];
        if (!Read(InodeOffset(ino), rec))
        {
            return;
        }
        int genOff = sb.IsUfs2 ? Ufs2Dinode.Gen : Ufs1Dinode.Gen;
        int gen = O.I32(rec, genOff);
        Array.Clear(rec);
        O.W32(rec, genOff, gen + 1);
        Write(InodeOffset(ino), rec);
    }

    /// <summary>Write whole fragments starting at fragment <paramref name="frag"/>.</summary>
    public void WriteFrags(long frag, ReadOnlySpan<byte> data) => Write(sb.FragToBytes(frag), data);

    public bool ReadFrags(long frag, Span<byte> buffer) => Read(sb.FragToBytes(frag), buffer);

    public void WriteGroup(int cg, ReadOnlySpan<byte> block) => Write(sb.FragToBytes(sb.CgTod(cg)), block);

    public void WriteSummary(ReadOnlySpan<byte> area) => Write(sb.FragToBytes(sb.CsAddr), area);

    /// <summary>
    /// Write the superblock's counters and fs_clean back where it was found. With
    /// <paramref name="clearFlags"/> the unclean and needs-fsck flags go too, in fs_flags
    /// and, on a UFS1 superblock that still keeps them there, in fs_old_flags.
    /// </summary>
    public void WriteSuperblock(FfsSuperblock s, bool clearFlags)
    {
        byte[] b = s.Encode();
        if (s.IsUfs2)
        {
            // Nothing is pending once the maps are rebuilt from the inodes.
            O.W64(b, SuperblockFields.PendingBlocks, 0);
            O.W64(b, SuperblockFields.PendingInodes, 0);
        }
        if (clearFlags)
        {
            const int stale = FfsSuperblock.FlagUnclean | FfsSuperblock.FlagNeedsFsck;
            O.W32(b, SuperblockFields.Flags, O.I32(b, SuperblockFields.Flags) & ~stale);
            if (!s.IsUfs2 && (s.OldFlags & FfsSuperblock.OldFlagsUpdated) == 0)
            {
                b[SuperblockFields.OldFlags] = (byte)(b[SuperblockFields.OldFlags] & ~stale);
            }
        }
        Write(s.Location, b.AsSpan(0, s.SbSize > 0 && s.SbSize <= b.Length ? s.SbSize : b.Length));
    }

    public void Flush()
    {
        if (Error == Errno.OK)
        {
            Error = dev.Flush();
        }
    }

    private bool Read(long offset, Span<byte> buffer)
    {
        if (Error != Errno.OK)
        {
            return false;
        }
        Error = dev.Read(offset, buffer);
        return Error == Errno.OK;
    }

    private void Write(long offset, ReadOnlySpan<byte> data)
    {
        if (Error == Errno.OK)
        {
            Error = dev.Write(offset, data);
        }
    }
}
