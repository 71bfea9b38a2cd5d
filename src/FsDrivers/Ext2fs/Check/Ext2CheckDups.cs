using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Passes 1b and 1d, when pass 1 met blocks claimed twice, with e2fsck's policy. Pass 1b
/// counts, for each such block, the inodes claiming it (metadata is not counted, it is a
/// flag of its own). Pass 1d takes the sharing inodes in inode order: one that still shares
/// a block with another inode, or any block with metadata, gets its own copy of every block
/// still shared (e2fsck's "clone"); its claim on a copied block goes, so a later inode whose
/// blocks are all left with one claimant keeps them ("already reassigned or cloned").
/// Metadata never lets go of its blocks, so every file claiming one gets a copy. When the
/// copies do not fit, the file is deleted as e2fsck's "Delete file?" does.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>Pass 1b's count per shared block: how many claims inodes make on it (a file naming it twice counts twice).</summary>
    private readonly Dictionary<ulong, int> _inodeClaims = [];

    private void ResolveDuplicates()
    {
        SortedDictionary<uint, List<ulong>> sharers = FindSharers();
        foreach ((uint ino, List<ulong> shared) in sharers)
        {
            if (ino == 1 || ino == ResizeIno)
            {
                // The bad-blocks list and the resize inode are never given copies (e2fsck skips
                // them too); their claims still count against the files sharing with them.
                continue;
            }
            bool meta = shared.Any(b => _meta[(int)b]);
            if (!meta && shared.All(b => _inodeClaims[b] <= 1))
            {
                Note(Pass1, Ino(ino), "shares blocks only with files already given their own copies; keeps them");
                continue;
            }
            string with = meta ? "another inode or by metadata" : "another inode";
            Error(Pass1, Ino(ino), $"has {shared.Distinct().Count()} block(s) claimed by {with}; those blocks are copied");
            if (_repair && _v.ReadInode(ino, out Ext2Dinode din) == Errno.OK)
            {
                CloneFile(ino, din);
            }
        }
        // The later passes free blocks through pass 1's claim counts (a directory trimmed
        // after its rebuild, a cleared inode): they now count the claims pass 1d left.
        foreach ((ulong b, int left) in _inodeClaims)
        {
            int claims = left + (_meta[(int)b] ? 1 : 0);
            if (claims <= 1)
            {
                _dupClaims.Remove(b);
            }
            else
            {
                _dupClaims[b] = claims;
            }
        }
    }

    /// <summary>Pass 1b: every inode naming a block pass 1 found claimed twice, with those blocks, by inode number.</summary>
    private SortedDictionary<uint, List<ulong>> FindSharers()
    {
        var sharers = new SortedDictionary<uint, List<ulong>>();
        var xattrs = new HashSet<ulong>();
        _inodeClaims.Clear();
        for (uint ino = 1; ino <= _v.InodesCount; ino++)
        {
            if (!_inUse[(int)ino] || _v.ReadInode(ino, out Ext2Dinode din) != Errno.OK)
            {
                continue;
            }
            if (ino == ResizeIno)
            {
                // Its double-indirect block is its own (the reserved descriptor blocks below
                // it are metadata): a file naming that block shares it and takes the copy.
                ulong dind = din.BlockPointer(13);
                if (dind != 0 && _dupClaims.ContainsKey(dind))
                {
                    _inodeClaims[dind] = _inodeClaims.GetValueOrDefault(dind) + 1;
                }
                continue;
            }
            if (ino != 1 && !HasBlockMap(din))
            {
                continue;
            }
            FileBlocks? blocks = CollectBlocks(ino, din);
            if (blocks is null)
            {
                continue;
            }
            foreach (FileBlock b in blocks.Sequence)
            {
                if (!_dupClaims.ContainsKey(b.Physical))
                {
                    continue;
                }
                _inodeClaims[b.Physical] = _inodeClaims.GetValueOrDefault(b.Physical) + 1;
                if (!sharers.TryGetValue(ino, out List<ulong>? list))
                {
                    sharers[ino] = list = [];
                }
                list.Add(b.Physical);
            }
            // An extended-attribute block counts once however many inodes name it (pass 1
            // claimed it once); it is never the block copied, so a file whose data lies on
            // one takes the copy.
            ulong acl = din.FileAcl;
            if (acl != 0 && _dupClaims.ContainsKey(acl) && xattrs.Add(acl))
            {
                _inodeClaims[acl] = _inodeClaims.GetValueOrDefault(acl) + 1;
            }
        }
        return sharers;
    }

    /// <summary>
    /// Still shared (in e2fsck's multiply-claimed map): metadata always, otherwise while
    /// more than one claim on the block is left.
    /// </summary>
    private bool StillShared(ulong b) => _meta[(int)b] || _inodeClaims.GetValueOrDefault(b) >= 2;

    /// <summary>
    /// One claim on a shared block goes (the file took a copy, or was deleted). Metadata keeps
    /// its blocks whatever the files do; a block no claim is left on is free.
    /// </summary>
    private void DropInodeClaim(ulong b)
    {
        if (_meta[(int)b])
        {
            return;
        }
        int left = _inodeClaims.GetValueOrDefault(b) - 1;
        _inodeClaims[b] = left;
        if (left <= 0)
        {
            _used[(int)b] = false;
        }
    }

    private bool HasBlockMap(Ext2Dinode din)
    {
        byte type = Ext2DirEntry.FileTypeOf(din.Mode);
        bool inline = (din.Flags & Ext2Dinode.FlagInlineData) != 0 && _v.InlineData;
        bool fastLink = type == 7 && IsFastSymlink(din);
        return (type is 1 or 2 or 7) && !inline && !fastLink;
    }
}
