using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using JSB = RumpFs.FsDrivers.Ext2fs.OnDisk.JournalSuperblock;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// jbd2 journal recovery, in the three passes of the kernel's and e2fsck's recovery.c: scan
/// for the last committed transaction, collect revoke records of committed transactions,
/// then replay every logged block not revoked by the same or a later transaction. The
/// replayed blocks go to a <see cref="JournalOverlayDevice"/>.
/// </summary>
internal static class Ext2Journal
{
    private sealed class Log(Ext2Mount fs, Ext2Node journal, uint first, uint maxLen)
    {
        public uint First { get; } = first;
        public uint MaxLen { get; } = maxLen;

        public uint Next(uint blk) => blk + 1 >= MaxLen ? First : blk + 1;

        public Errno Read(uint blk, byte[] buf, out ulong pblk)
        {
            pblk = 0;
            Errno e = journal.Bmap(blk, 1, out pblk, out _, out _);
            if (e != Errno.OK)
            {
                return e;
            }
            if (pblk == 0 || !fs.ValidBlock(pblk))
            {
                return fs.Corrupt((long)pblk, $"journal block {blk} is not mapped");
            }
            return fs.Io.Read((long)pblk << fs.BlockShift, buf);
        }
    }

    public static Errno Recover(Ext2Mount fs, JournalOverlayDevice overlay, out string? message)
    {
        message = null;
        Errno e = Ext2Node.Load(fs, fs.Sb.JournalInum, out Ext2Node? jnode);
        if (e != Errno.OK)
        {
            message = $"cannot read the journal inode: {e.Describe()}";
            return e;
        }
        int bs = fs.BlockSize;
        byte[] sb = new byte[bs];
        var probe = new Log(fs, jnode!, 1, (uint)(jnode!.Din.Size / bs));
        e = probe.Read(0, sb, out _);
        if (e != Errno.OK)
        {
            message = $"cannot read the journal superblock: {e.Describe()}";
            return e;
        }
        uint type = JSB.U32(sb, JSB.HeaderOff.BlockType);
        if (JSB.U32(sb, JSB.HeaderOff.Magic) != JSB.Magic || (type != JSB.BlockSuperV1 && type != JSB.BlockSuperV2))
        {
            message = "bad journal superblock";
            return Errno.EINVAL;
        }
        uint jbs = JSB.U32(sb, JSB.Off.BlockSize);
        uint maxLen = JSB.U32(sb, JSB.Off.MaxLen);
        uint first = JSB.U32(sb, JSB.Off.First);
        uint seq = JSB.U32(sb, JSB.Off.Sequence);
        uint start = JSB.U32(sb, JSB.Off.Start);
        uint incompat = type == JSB.BlockSuperV2 ? JSB.U32(sb, JSB.Off.FeatureIncompat) : 0;
        if (jbs != bs || maxLen > jnode.Din.Size / bs || first == 0 || first >= maxLen)
        {
            message = "journal superblock geometry does not match the journal inode";
            return Errno.EINVAL;
        }
        if ((incompat & ~JSB.IncompatSupported) != 0)
        {
            message = $"journal has unsupported features 0x{incompat & ~JSB.IncompatSupported:x}";
            return Errno.EINVAL;
        }
        overlay.NextSequence = seq;
        if (start == 0)
        {
            return Errno.OK;
        }
        var log = new Log(fs, jnode, first, maxLen);
        int tagBytes = JSB.TagBytes(incompat);
        bool csum = (incompat & (JSB.IncompatCsumV2 | JSB.IncompatCsumV3)) != 0;
        bool is64 = (incompat & JSB.Incompat64Bit) != 0;

        // Pass 1 and 2: find the end of the log, collect revokes of committed transactions.
        var revoked = new Dictionary<ulong, uint>();
        var pending = new List<ulong>();
        byte[] buf = new byte[bs];
        uint blk = start;
        uint cur = seq;
        for (uint steps = 0; steps < maxLen; steps++)
        {
            if (log.Read(blk, buf, out _) != Errno.OK || JSB.U32(buf, JSB.HeaderOff.Magic) != JSB.Magic
                || JSB.U32(buf, JSB.HeaderOff.Sequence) != cur)
            {
                break;
            }
            uint bt = JSB.U32(buf, JSB.HeaderOff.BlockType);
            if (bt == JSB.BlockDescriptor)
            {
                int n = CountTags(buf, tagBytes, csum, incompat);
                for (int i = 0; i <= n; i++)
                {
                    blk = log.Next(blk);
                }
                continue;
            }
            if (bt == JSB.BlockCommit)
            {
                foreach (ulong r in pending)
                {
                    revoked[r] = cur;
                }
                pending.Clear();
                cur++;
                blk = log.Next(blk);
                continue;
            }
            if (bt == JSB.BlockRevoke)
            {
                int used = (int)Math.Min(JSB.U32(buf, JSB.HeaderOff.Size), (uint)bs);
                int rsz = is64 ? 8 : 4;
                for (int off = 16; off + rsz <= used; off += rsz)
                {
                    ulong rb = is64
                        ? ((ulong)JSB.U32(buf, off) << 32) | JSB.U32(buf, off + 4)
                        : JSB.U32(buf, off);
                    pending.Add(rb);
                }
                blk = log.Next(blk);
                continue;
            }
            break;
        }
        uint end = cur;

        // Pass 3: replay.
        blk = start;
        cur = seq;
        int replayed = 0;
        while (cur != end)
        {
            if (log.Read(blk, buf, out _) != Errno.OK)
            {
                message = "journal read failed during replay";
                return Errno.EIO;
            }
            uint bt = JSB.U32(buf, JSB.HeaderOff.BlockType);
            if (bt == JSB.BlockDescriptor)
            {
                byte[] desc = (byte[])buf.Clone();
                int limit = bs - (csum ? 4 : 0);
                int off = JSB.HeaderOff.Size;
                while (off + tagBytes <= limit)
                {
                    (ulong target, uint flags) = JSB.ReadTag(desc.AsSpan(off), incompat);
                    off += tagBytes;
                    if ((flags & JSB.TagSameUuid) == 0)
                    {
                        off += 16;
                    }
                    blk = log.Next(blk);
                    bool skip = revoked.TryGetValue(target, out uint rseq) && rseq >= cur;
                    if (!skip)
                    {
                        if (!fs.ValidBlock(target) && target != 0)
                        {
                            message = $"journal block for {target}, outside the file system";
                            return KernelLog.CorruptionOnce(Ext2Mount.Subsystem, (long)target, "journal tag outside the file system");
                        }
                        byte[] data = new byte[bs];
                        if (log.Read(blk, data, out _) != Errno.OK)
                        {
                            message = "journal read failed during replay";
                            return Errno.EIO;
                        }
                        if ((flags & JSB.TagEscape) != 0)
                        {
                            JSB.SetU32(data, 0, JSB.Magic);
                        }
                        overlay.Put((long)target * bs, data);
                        replayed++;
                    }
                    if ((flags & JSB.TagLast) != 0)
                    {
                        break;
                    }
                }
                blk = log.Next(blk);
                continue;
            }
            if (bt == JSB.BlockCommit)
            {
                cur++;
            }
            blk = log.Next(blk);
        }
        overlay.NextSequence = end;
        KernelLog.Info(Ext2Mount.Subsystem, $"{fs.Device?.Name}: journal recovered, {end - seq} transaction(s), {replayed} block(s)");
        return Errno.OK;
    }

    private static int CountTags(byte[] buf, int tagBytes, bool csum, uint incompat)
    {
        int limit = buf.Length - (csum ? 4 : 0);
        int off = JSB.HeaderOff.Size;
        int n = 0;
        while (off + tagBytes <= limit)
        {
            (_, uint flags) = JSB.ReadTag(buf.AsSpan(off), incompat);
            off += tagBytes;
            n++;
            if ((flags & JSB.TagSameUuid) == 0)
            {
                off += 16;
            }
            if ((flags & JSB.TagLast) != 0)
            {
                break;
            }
        }
        return n;
    }

    /// <summary>After a committed replay: s_start = 0 and the next sequence, so the journal reads as empty.</summary>
    public static Errno MarkEmpty(Ext2Mount fs, IBlockDevice device)
    {
        Errno e = Ext2Node.Load(fs, fs.Sb.JournalInum, out Ext2Node? jnode);
        if (e != Errno.OK)
        {
            return e;
        }
        e = jnode!.Bmap(0, 1, out ulong pblk, out _, out _);
        if (e != Errno.OK || pblk == 0)
        {
            return e == Errno.OK ? Errno.EIO : e;
        }
        byte[] sb = new byte[1024];
        e = device.Read((long)pblk << fs.BlockShift, sb);
        if (e != Errno.OK)
        {
            return e;
        }
        var overlay = fs.Io as JournalOverlayDevice;
        JSB.SetU32(sb, JSB.Off.Start, 0);
        if (overlay is not null)
        {
            JSB.SetU32(sb, JSB.Off.Sequence, overlay.NextSequence);
        }
        uint incompat = JSB.U32(sb, JSB.Off.FeatureIncompat);
        if ((incompat & (JSB.IncompatCsumV2 | JSB.IncompatCsumV3)) != 0)
        {
            JSB.SetU32(sb, JSB.Off.Checksum, 0);
            JSB.SetU32(sb, JSB.Off.Checksum, Ext2Crc.Crc32c(~0u, sb));
        }
        e = device.Write((long)pblk << fs.BlockShift, sb);
        return e == Errno.OK ? device.Flush() : e;
    }
}
