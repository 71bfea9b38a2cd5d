using System.Collections;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>One block of an inode's area waiting to be claimed, with the data fragments the inode itself holds.</summary>
internal sealed record FfsAreaBlock(ulong Ino, int Index, long Frag, int Frags, HashSet<int> OwnData);

/// <summary>
/// The checker's reading of an extended-attribute area, shared by the check and the repair:
/// how much of it the driver reads without an error. The driver refuses a whole area for a
/// block missing below di_extsize or one record that does not decode
/// (<see cref="FfsExtAttrRecord"/>), so a check that looked at sizes and pointers only
/// called areas clean that getxattr then answered with EIO (fuzz round 20 fault 4).
/// </summary>
internal static class FfsExtAreaCheck
{
    /// <summary>
    /// The length of the area's longest prefix the driver reads: di_extsize when the area
    /// is sound, else the end of the last record that decodes before the first missing
    /// block or bad record (0 when none does), with <paramref name="problem"/> saying why.
    /// Call it only once the size is possible and every pointer below it lies in the data
    /// area; -1 when the device fails a read.
    /// </summary>
    public static int ReadableLength(FfsSuperblock sb, FfsDinode d, IBlockDevice dev, out string? problem)
    {
        problem = null;
        int size = d.ExtSize;
        for (int i = 0; i < FfsSuperblock.NXAddr && FfsExtArea.FragsOf(sb, d.ExtSize, i) > 0; i++)
        {
            if (d.ExtB[i] == 0)
            {
                // The driver stops at the hole: only what lies before it can be kept.
                problem = $"extended-attribute block {i} missing in an area of {d.ExtSize} bytes";
                size = i << sb.Bshift;
                break;
            }
        }
        byte[] area = new byte[size];
        for (int start = 0, i = 0; start < size; start += sb.Bsize, i++)
        {
            if (dev.Read(sb.FragToBytes(d.ExtB[i]), area.AsSpan(start, Math.Min(sb.Bsize, size - start))) != Errno.OK)
            {
                problem = $"extended-attribute block {i} at {d.ExtB[i]} unreadable";
                return -1;
            }
        }
        int good = FfsExtAttrRecord.GoodLength(area, sb.Order, out string? bad);
        if (bad is not null)
        {
            problem ??= $"extended-attribute area: {bad}";
        }
        return good;
    }

    /// <summary>
    /// The areas that give up their claim, each with why, once every inode's data is
    /// claimed in <paramref name="used"/> (with the metadata): an area is the cheapest
    /// claim an inode makes, so one that lands on data (another file's or its own) or the
    /// summary area goes, whichever inode number is lower. Of the areas left, two that share
    /// a fragment both go: which pointer is damaged cannot be told, and keeping either
    /// could hand one file the other's attributes. An area dropped for data is not counted
    /// against a healthy area it also overlaps (fuzz round 20 fault 5: a damaged pointer
    /// reached both /d0/f0's data and its area).
    /// </summary>
    public static Dictionary<ulong, string> SharedAreas(FfsSuperblock sb, IReadOnlyList<FfsAreaBlock> blocks, BitArray used)
    {
        var why = new Dictionary<ulong, string>();
        long csEnd = sb.CsAddr + sb.NumFrags(sb.CsSize);
        foreach (FfsAreaBlock b in blocks)
        {
            for (int k = 0; k < b.Frags; k++)
            {
                int f = (int)(b.Frag + k);
                string? with = b.OwnData.Contains(f) ? "the file's own data"
                    : f >= sb.CsAddr && f < csEnd ? "the summary area"
                    : used[f] ? "another inode's blocks"
                    : null;
                if (with is not null)
                {
                    why.TryAdd(b.Ino, $"extended-attribute block {b.Index} at {b.Frag} shares fragments with {with}");
                    break;
                }
            }
        }
        var givenUp = new HashSet<ulong>(why.Keys);
        var owner = new Dictionary<int, FfsAreaBlock>();
        foreach (FfsAreaBlock b in blocks.Where(b => !givenUp.Contains(b.Ino)))
        {
            for (int k = 0; k < b.Frags; k++)
            {
                int f = (int)(b.Frag + k);
                if (!owner.TryAdd(f, b))
                {
                    FfsAreaBlock o = owner[f];
                    if (o.Ino == b.Ino)
                    {
                        why.TryAdd(b.Ino, $"extended-attribute block {b.Index} at {b.Frag} overlaps block {o.Index} of its area");
                        continue;
                    }
                    why.TryAdd(b.Ino, $"extended-attribute block {b.Index} at {b.Frag} shares fragments with the extended-attribute area of inode {o.Ino}");
                    why.TryAdd(o.Ino, $"extended-attribute block {o.Index} at {o.Frag} shares fragments with the extended-attribute area of inode {b.Ino}");
                }
            }
        }
        return why;
    }
}
