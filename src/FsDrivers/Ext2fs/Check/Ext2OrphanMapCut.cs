using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Cuts an orphan's block map at a logical block, as e2fsck's release_inode_blocks does
/// before pass 1: every block from there on is released (an extent past the cut removed,
/// one across it shortened, a pointer past it cleared, an indirect or extent node only once
/// nothing is left in it). With the cut at 0 and <c>edit</c> off it only gathers every block
/// of an orphan to delete, whose map stays as it is; with the cut past the end it only maps
/// the file (the orphan file's slots are read so). The map is read strictly: a pointer
/// outside the file system or a node that does not parse stops the cut with a
/// <see cref="Problem"/>, and the caller then writes nothing, as e2fsck gives up the release.
/// </summary>
internal sealed class Ext2OrphanMapCut
{
    private readonly Ext2CheckVolume _v;
    private readonly Ext2Dinode _din;
    private readonly uint _seed;
    private readonly long _keep;
    private readonly bool _edit;

    private Ext2OrphanMapCut(Ext2CheckVolume v, uint ino, Ext2Dinode din, long keep, bool edit)
    {
        _v = v;
        _din = din;
        _seed = Ext2Dinode.InodeSeed(v.CsumSeed, ino, din.Generation);
        _keep = keep;
        _edit = edit;
    }

    /// <summary>Blocks to write back (changed indirect and extent nodes), when the cut succeeds.</summary>
    public Dictionary<ulong, byte[]> Writes { get; } = [];

    /// <summary>The blocks the cut frees, nodes included, in the order met.</summary>
    public List<ulong> Released { get; } = [];

    /// <summary>The data blocks kept (logical, physical).</summary>
    public List<(long Logical, ulong Physical)> Kept { get; } = [];

    /// <summary>Why the map could not be read; null when the cut went through.</summary>
    public string? Problem { get; private set; }

    /// <summary>
    /// Cut the map of <paramref name="din"/> (inode <paramref name="ino"/>) at logical block
    /// <paramref name="keep"/>; the inode's own block area is changed in place when
    /// <paramref name="edit"/> is on.
    /// </summary>
    public static Ext2OrphanMapCut Run(Ext2CheckVolume v, uint ino, Ext2Dinode din, long keep, bool edit)
    {
        var cut = new Ext2OrphanMapCut(v, ino, din, keep, edit);
        if ((din.Flags & Ext2Dinode.FlagExtents) != 0)
        {
            Span<byte> root = din.Raw.AsSpan(Ext2Dinode.Off.Block, Ext2Dinode.BlockArea);
            if (cut.CutExtentNode(root, -1, Ext4Extent.Capacity(Ext2Dinode.BlockArea), out _) && edit
                && Ext4Extent.ReadHeader(root) is { Entries: 0, Depth: > 0 } h)
            {
                // Nothing left under the root: an empty tree, as a file truncated to 0.
                Ext4Extent.WriteHeader(root, 0, h.Max, 0);
            }
        }
        else
        {
            cut.CutIndirect();
        }
        return cut;
    }

    private bool Fail(string why)
    {
        Problem ??= why;
        return false;
    }

    private bool InFs(ulong start, long count) =>
        count > 0 && _v.InFs(start) && start + (ulong)count <= _v.BlocksCount;

    /// <summary>A private copy of block <paramref name="blk"/> (the volume hands out its cached array).</summary>
    private byte[]? ReadCopy(ulong blk)
    {
        if (Writes.TryGetValue(blk, out byte[]? pending))
        {
            return pending;
        }
        return _v.Read(blk, out byte[] data) == Errno.OK ? (byte[])data.Clone() : null;
    }

    private void Release(ulong start, long count)
    {
        for (long k = 0; k < count; k++)
        {
            Released.Add(start + (ulong)k);
        }
    }

    /// <summary>Cut one extent node (the root when <paramref name="depth"/> is -1); false on a problem.</summary>
    private bool CutExtentNode(Span<byte> node, int depth, int capacity, out bool changed)
    {
        changed = false;
        Ext4Extent.Header h = Ext4Extent.ReadHeader(node);
        if (h.Magic != Ext4Extent.Magic || h.Entries > h.Max || h.Max > capacity || h.Depth > 5
            || (depth >= 0 && h.Depth != depth))
        {
            return Fail("an extent node does not parse");
        }
        int entries = h.Entries;
        // Last entry first, so a removal does not move the entries still to visit.
        for (int i = h.Entries - 1; i >= 0; i--)
        {
            Span<byte> e = Ext4Extent.Entry(node, i);
            bool remove;
            if (h.Depth == 0)
            {
                ExtentRun x = Ext4Extent.ReadLeaf(e);
                if (!InFs(x.Physical, x.Length))
                {
                    return Fail($"extent at logical block {x.Logical} lies outside the file system");
                }
                long kept = Math.Clamp(_keep - x.Logical, 0, x.Length);
                Release(x.Physical + (ulong)kept, x.Length - kept);
                remove = kept == 0;
                if (kept > 0 && kept < x.Length && _edit)
                {
                    Ext4Extent.WriteLeaf(e, x with { Length = (int)kept });
                }
                changed |= kept < x.Length;
                for (long k = 0; k < kept; k++)
                {
                    Kept.Add((x.Logical + k, x.Physical + (ulong)k));
                }
            }
            else
            {
                (uint _, ulong child) = Ext4Extent.ReadIndex(e);
                byte[]? data = InFs(child, 1) ? ReadCopy(child) : null;
                if (data is null)
                {
                    return Fail($"extent block {child} cannot be read");
                }
                if (!CutExtentNode(data, h.Depth - 1, Ext4Extent.Capacity(_v.BlockSize - 4), out bool childChanged))
                {
                    return false;
                }
                remove = Ext4Extent.ReadHeader(data).Entries == 0 || !_edit && _keep == 0;
                if (remove)
                {
                    Release(child, 1);
                }
                else if (childChanged && _edit)
                {
                    if (_v.MetadataCsum)
                    {
                        Ext4Extent.SetBlockChecksum(data, _seed);
                    }
                    Writes[child] = data;
                }
            }
            if (remove)
            {
                changed = true;
                if (_edit)
                {
                    entries = Ext4Extent.RemoveEntry(node, i, entries);
                }
            }
        }
        return true;
    }

    /// <summary>Cut a block-mapped file: direct pointers, then the three indirect levels.</summary>
    private void CutIndirect()
    {
        for (int i = 0; i < 12; i++)
        {
            uint p = _din.BlockPointer(i);
            if (p == 0)
            {
                continue;
            }
            if (!InFs(p, 1))
            {
                Fail($"block {p} (logical {i}) lies outside the file system");
                return;
            }
            if (i >= _keep)
            {
                Release(p, 1);
                ClearPointer(i);
            }
            else
            {
                Kept.Add((i, p));
            }
        }
        long per = _v.BlockSize / 4;
        long first = 12;
        long span = per;
        for (int level = 1; level <= 3; level++, first += span, span *= per)
        {
            uint p = _din.BlockPointer(11 + level);
            if (p == 0)
            {
                continue;
            }
            if (!InFs(p, 1))
            {
                Fail($"indirect block {p} lies outside the file system");
                return;
            }
            if (!CutIndirectBlock(p, level, first, out bool empty))
            {
                return;
            }
            if (empty)
            {
                Release(p, 1);
                ClearPointer(11 + level);
            }
        }
    }

    private void ClearPointer(int i)
    {
        if (_edit)
        {
            _din.SetBlockPointer(i, 0);
        }
    }

    /// <summary>Cut below one indirect block of <paramref name="level"/>; <paramref name="empty"/> when no pointer is left in it.</summary>
    private bool CutIndirectBlock(ulong blk, int level, long first, out bool empty)
    {
        empty = true;
        byte[]? data = ReadCopy(blk);
        if (data is null)
        {
            return Fail($"indirect block {blk} cannot be read");
        }
        long per = _v.BlockSize / 4;
        long span = level == 1 ? 1 : level == 2 ? per : per * per;
        bool changed = false;
        for (int j = 0; j < per; j++)
        {
            uint q = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(j * 4));
            if (q == 0)
            {
                continue;
            }
            if (!InFs(q, 1))
            {
                return Fail($"block {q} named by indirect block {blk} lies outside the file system");
            }
            long logical = first + (j * span);
            bool gone;
            if (level == 1)
            {
                gone = logical >= _keep;
                if (gone)
                {
                    Release(q, 1);
                }
                else
                {
                    Kept.Add((logical, q));
                }
            }
            else
            {
                if (!CutIndirectBlock(q, level - 1, logical, out gone))
                {
                    return false;
                }
                if (gone)
                {
                    Release(q, 1);
                }
            }
            if (gone)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(j * 4), 0);
                changed = true;
            }
            else
            {
                empty = false;
            }
        }
        if (changed && !empty && _edit)
        {
            Writes[blk] = data;
        }
        return true;
    }
}
