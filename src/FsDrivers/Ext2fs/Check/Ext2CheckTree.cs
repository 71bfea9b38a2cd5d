using System.Buffers.Binary;
using System.Text;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Pass 3: every directory reachable from the root, with ".." naming the directory that
/// holds it; unconnected directories go to lost+found. Pass 4: link counts against the
/// references found; unattached inodes are reconnected to lost+found, or cleared when empty.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    private const string Pass3 = "connectivity";
    private const string Pass4 = "references";

    private uint _lostFound;

    private void CheckConnectivity()
    {
        if (!MakeRootIfMissing())
        {
            return;
        }
        DropInlineLostFound();
        var children = new Dictionary<uint, List<uint>>();
        foreach (uint d in _dirs.Keys)
        {
            if (_parent[d] != 0)
            {
                if (!children.TryGetValue(_parent[d], out List<uint>? list))
                {
                    children[_parent[d]] = list = [];
                }
                list.Add(d);
            }
        }
        _parent[RootIno] = RootIno;
        var reached = new HashSet<uint>();
        MarkReachable(RootIno, children, reached);
        foreach (uint d in _dirs.Keys.ToList())
        {
            if (reached.Contains(d))
            {
                continue;
            }
            // Climb to the top of the unconnected subtree (stopping at a loop) and attach that.
            uint top = d;
            var seen = new HashSet<uint> { d };
            while (_parent[top] != 0 && _dirs.ContainsKey(_parent[top]) && seen.Add(_parent[top]))
            {
                top = _parent[top];
            }
            // Stopped at a loop: the entry naming the top lies inside the subtree itself, and
            // would stay a second name beside the one in lost+found. It goes first.
            uint loopParent = _parent[top] != 0 && _dirs.ContainsKey(_parent[top]) && seen.Contains(_parent[top]) ? _parent[top] : 0;
            uint lf = _repair ? LostAndFound() : _lostFound;
            reached.Add(lf);
            bool can = lf != 0 && top != lf;
            Error(Pass3, Ino(top), $"unconnected directory (its '..' names {_dotdot[top]}); connected to lost+found", fixable: can);
            if (can && loopParent != 0)
            {
                Error(Pass3, Ino(top), $"named from inside its own subtree (by directory {loopParent}, a loop); that entry removed");
                if (_repair && !UnlinkEntry(loopParent, top, []))
                {
                    can = false;
                }
            }
            if (can && _repair && AddEntry(lf, "#" + top, top, 2))
            {
                _parent[top] = lf;
                MarkReachable(top, children, reached);
            }
            else
            {
                // Left alone: keep its ".." reference as it is.
                _parent[top] = _dotdot[top];
                MarkReachable(top, children, reached);
            }
        }
        foreach (uint d in _dirs.Keys.ToList())
        {
            uint want = _parent[d];
            if (want == 0 || _dotdot[d] == want)
            {
                if (want != 0 && (d == RootIno || reached.Contains(d)))
                {
                    _refs[want]++;
                }
                continue;
            }
            Error(Pass3, Ino(d), $"'..' names inode {_dotdot[d]}, should be {want}");
            if (_repair)
            {
                SetDotDot(d, want);
            }
            _dotdot[d] = want;
            _refs[want]++;
        }
        _connectivityDone = true;
        // e2fsck -y makes a missing lost+found at the end of pass 3 whether or not anything
        // needs it (and -n says nothing of it).
        LostAndFound();
    }

    private void MarkReachable(uint start, Dictionary<uint, List<uint>> children, HashSet<uint> reached)
    {
        var stack = new Stack<uint>();
        stack.Push(start);
        while (stack.Count > 0)
        {
            uint d = stack.Pop();
            if (!reached.Add(d))
            {
                continue;
            }
            if (children.TryGetValue(d, out List<uint>? list))
            {
                foreach (uint c in list)
                {
                    stack.Push(c);
                }
            }
        }
    }

    private void SetDotDot(uint dir, uint parent)
    {
        if (_inlineDirs.Contains(dir))
        {
            if (_v.ReadInode(dir, out Ext2Dinode din) == Errno.OK)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(din.BlockBytes, parent);
                _v.WriteInode(dir, din);
            }
            return;
        }
        if (!_dotdotAt.TryGetValue(dir, out ulong off) || _dirs[dir].Count == 0 || _dirs[dir][0].Logical != 0)
        {
            return;
        }
        ulong phys = _dirs[dir][0].Physical;
        if (_v.Read(phys, out byte[] b) != Errno.OK || _v.ReadInode(dir, out Ext2Dinode d) != Errno.OK)
        {
            return;
        }
        Ext2DirEntry.SetInode(b, (int)off, parent);
        if ((d.Flags & Ext2Dinode.FlagIndex) != 0 && _v.DirIndex)
        {
            // Block 0 of an indexed directory is the hash-tree root, whose checksum covers '..'.
            UpdateDxRootChecksum(dir, d, b);
        }
        WriteDirBlock(dir, d, phys, b);
    }

    private void UpdateDxRootChecksum(uint dir, Ext2Dinode din, byte[] b)
    {
        // Pass 2 cleared every index whose root info is not the standard 8 bytes.
        const int entries = Ext2DxNode.RootOff.Entries;
        if (!_v.MetadataCsum)
        {
            return;
        }
        (int limit, int count) = Ext2DxNode.CountLimit(b, entries);
        int tail = entries + (limit * Ext2DxNode.EntrySize);
        if (count > limit || tail + Ext2DxNode.TailSize > b.Length)
        {
            return;
        }
        uint seed = Ext2Dinode.InodeSeed(_v.CsumSeed, dir, din.Generation);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(tail + 4), Ext2DxNode.Checksum(b, entries, count, limit, seed));
    }

    /// <summary>Store a changed directory block, with a fresh tail checksum when it has one.</summary>
    private void WriteDirBlock(uint dir, Ext2Dinode din, ulong phys, byte[] b)
    {
        if (_v.MetadataCsum && Ext2DirEntry.HasTail(b))
        {
            Ext2DirEntry.WriteTail(b, Ext2Dinode.InodeSeed(_v.CsumSeed, dir, din.Generation));
        }
        _v.Write(phys, b);
    }

    private void CheckReferenceCounts()
    {
        for (uint ino = 1; ino <= _v.InodesCount; ino++)
        {
            if (!_inUse[(int)ino] || (ino < Sb.FirstIno && ino != RootIno) || IsHiddenSpecialFile(ino))
            {
                continue;
            }
            if (_refs[ino] == 0 && _type[ino] != 2)
            {
                HandleUnattached(ino);
                if (!_inUse[(int)ino])
                {
                    continue;
                }
            }
            int refs = _refs[ino];
            ushort links = _links[ino];
            if (_type[ino] == 2 && refs > 65000)
            {
                // Past EXT2_LINK_MAX a directory's count stays at 1 (dir_nlink).
                refs = 1;
            }
            if (links == refs || refs == 0)
            {
                continue;
            }
            Error(Pass4, Ino(ino), $"link count is {links}, should be {refs}");
            if (_repair && _v.ReadInode(ino, out Ext2Dinode din) == Errno.OK)
            {
                din.LinksCount = (ushort)Math.Min(refs, 65000);
                _v.WriteInode(ino, din);
                _links[ino] = din.LinksCount;
            }
        }
    }

    private static bool HasInodeXattrs(Ext2Dinode din)
    {
        int at = Ext2Dinode.BaseSize + din.ExtraIsize;
        return din.ExtraIsize > 0 && at + 4 <= din.InodeSize
            && BinaryPrimitives.ReadUInt32LittleEndian(din.Raw.AsSpan(at)) == Ext2XattrEntry.Magic;
    }

    private void HandleUnattached(uint ino)
    {
        if (_v.ReadInode(ino, out Ext2Dinode din) != Errno.OK)
        {
            return;
        }
        // e2fsck's disconnect_inode: only a regular file or directory with no blocks and no
        // attributes in the inode goes; anything else (a device, a fifo, a symlink, an empty
        // file carrying attributes) still says something and is reconnected.
        int type = din.Mode & 0xF000;
        if (din.BlocksRaw == 0 && (type == 0x8000 || type == 0x4000) && !HasInodeXattrs(din))
        {
            Error(Pass4, Ino(ino), "unattached zero-length inode; cleared");
            if (_repair)
            {
                Array.Clear(din.Raw);
                din.Dtime = (uint)DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                _v.WriteInode(ino, din);
                _inUse[(int)ino] = false;
                _type[ino] = 0;
            }
            return;
        }
        uint lf = _repair ? LostAndFound() : _lostFound;
        bool can = lf != 0;
        Error(Pass4, Ino(ino), "unattached inode; connected to lost+found", fixable: can);
        if (can && _repair && !AddEntry(lf, "#" + ino, ino, _type[ino]))
        {
            Error(Pass4, Ino(ino), "lost+found has no room for it", fixable: false);
        }
    }
}
