using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using JSB = RumpFs.FsDrivers.Ext2fs.OnDisk.JournalSuperblock;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// The internal journal as e2fsck loads it before its passes: the superblock must name inode
/// 8, and that inode must be a regular file of at least 1024 blocks, mapped without holes or
/// illegal blocks, whose first block is a journal superblock matching the file system. An
/// invalid journal is deleted and made again under repair, as e2fsck -y does
/// (Ext2CheckJournalRecreate); single pointers are never cleared, as they would be for a
/// file, since that would only punch holes into the log.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>jbd2's smallest journal (JBD2_MIN_JOURNAL_BLOCKS).</summary>
    private const uint MinJournalBlocks = 1024;

    private bool JournalNamed => HasJournalFeature && Sb.JournalInum != 0;

    /// <summary>Pass 0: a journal in another inode than 8 is not one this checker (or the kernel's mke2fs) makes.</summary>
    private void CheckJournalInodeNumber()
    {
        if (JournalNamed && Sb.JournalInum != JournalIno)
        {
            Error(Pass0, "superblock", $"the journal is named as inode {Sb.JournalInum}, not inode {JournalIno}: an invalid journal;"
                + $" deleted (inode {Sb.JournalInum} is then an ordinary file) and made again in inode {JournalIno}");
            if (_repair)
            {
                DeleteJournal();
            }
        }
    }

    /// <summary>Pass 1, the journal inode: claim its blocks without changing its map, then judge it.</summary>
    private void CheckJournalInode(InodeWalk w)
    {
        RestoreJournalFromBackup(w);
        var journal = new JournalWalk();
        WalkBlocks(w, (walk, c) => ClaimInJournal(walk, c, journal));
        CheckBlockCount(w);
        string? why = w.BadTree || w.DroppedNode ? "its extent tree is damaged" : JournalProblem(w.Din, journal);
        if (why is not null)
        {
            // Nothing of an invalid journal is mended piecemeal: holes punched into a log
            // would only make it wrong in another way. It goes whole, and a new one is made.
            w.Changed = false;
            Error(Pass1, Ino(w.Ino), $"the journal is invalid: {why}; deleted and made again");
            if (_repair)
            {
                DeleteJournal();
                ClearJournalInode(w);
            }
            return;
        }
        // The superblock's copy of the map is compared once the map is final (the duplicate
        // pass may still give the journal copies of blocks it shares).
        _journalKept = true;
    }

    private sealed class JournalWalk
    {
        public ulong FirstBlock;
        public long DataBlocks;
        public string? Illegal;
    }

    private ulong ClaimInJournal(InodeWalk w, BlockClaim c, JournalWalk journal)
    {
        if (!_v.InFs(c.Physical) || c.Physical + (ulong)c.Count > _v.BlocksCount || (c.Node && _meta[(int)c.Physical]))
        {
            journal.Illegal ??= $"block {c.Physical} (logical {c.Logical}) is outside the file system or its metadata";
            // Still counted in i_blocks: the pointer stays, so the count must not be "mended".
            w.Blocks += (ulong)c.Count;
            return Skip;
        }
        MarkUsed(c.Physical, c.Count, w);
        w.Blocks += (ulong)c.Count;
        if (!c.Node)
        {
            journal.DataBlocks += c.Count;
            if (c.Logical == 0)
            {
                journal.FirstBlock = c.Physical;
            }
        }
        return Keep;
    }

    /// <summary>With journal checksums: crc32c named as the type, and the superblock's own checksum right (over its 1024 bytes, the field as 0).</summary>
    private static string? JournalChecksumProblem(byte[] block)
    {
        const byte Crc32c = 4;
        if (block[JSB.Off.ChecksumType] != Crc32c)
        {
            return $"its superblock uses journal checksums with checksum type {block[JSB.Off.ChecksumType]}, not crc32c";
        }
        byte[] sb = block.AsSpan(0, JSB.Off.End).ToArray();
        uint stored = JSB.U32(sb, JSB.Off.Checksum);
        JSB.SetU32(sb, JSB.Off.Checksum, 0);
        uint want = Ext2Crc.Crc32c(~0u, sb);
        return stored != want ? $"its superblock checksum is 0x{stored:x8}, should be 0x{want:x8}" : null;
    }

    private string? JournalProblem(Ext2Dinode din, JournalWalk journal)
    {
        long blocks = (long)(din.Size >> _v.BlockShift);
        if ((din.Mode & 0xF000) != 0x8000 || din.LinksCount == 0)
        {
            return $"inode mode 0{Convert.ToString(din.Mode, 8)} with {din.LinksCount} links is not a regular file in use";
        }
        if (journal.Illegal is not null)
        {
            return journal.Illegal;
        }
        if (blocks < MinJournalBlocks)
        {
            return $"{blocks} blocks, fewer than {MinJournalBlocks}";
        }
        if (journal.DataBlocks < blocks || journal.FirstBlock == 0)
        {
            return $"{journal.DataBlocks} of its {blocks} blocks are mapped";
        }
        if (_v.Read(journal.FirstBlock, out byte[] sb) != Errno.OK)
        {
            return $"its superblock (block {journal.FirstBlock}) cannot be read";
        }
        uint type = JSB.U32(sb, JSB.HeaderOff.BlockType);
        if (JSB.U32(sb, JSB.HeaderOff.Magic) != JSB.Magic || (type != JSB.BlockSuperV1 && type != JSB.BlockSuperV2))
        {
            return "its superblock has no journal magic";
        }
        // e2fsck's own limits: a log shorter than the inode, or starting at 0, it accepts.
        uint bs = JSB.U32(sb, JSB.Off.BlockSize);
        uint maxLen = JSB.U32(sb, JSB.Off.MaxLen);
        uint first = JSB.U32(sb, JSB.Off.First);
        if (bs != _v.BlockSize || maxLen > blocks || (first != 0 && first >= maxLen))
        {
            return $"its superblock says block size {bs}, {maxLen} blocks, log from block {first}, for a {blocks}-block inode";
        }
        uint incompat = type == JSB.BlockSuperV2 ? JSB.U32(sb, JSB.Off.FeatureIncompat) : 0;
        if ((incompat & ~JSB.IncompatKnown) != 0)
        {
            return $"its superblock has unknown incompatible features 0x{incompat & ~JSB.IncompatKnown:x}";
        }
        // jbd2 defines no read-only compatible feature: any bit is one e2fsck does not know.
        uint roCompat = type == JSB.BlockSuperV2 ? JSB.U32(sb, JSB.Off.FeatureRoCompat) : 0;
        if (roCompat != 0)
        {
            return $"its superblock has unknown read-only features 0x{roCompat:x}";
        }
        if ((incompat & (JSB.IncompatCsumV2 | JSB.IncompatCsumV3)) != 0 && JournalChecksumProblem(sb) is string csum)
        {
            return csum;
        }
        uint users = type == JSB.BlockSuperV2 ? JSB.U32(sb, JSB.Off.NrUsers) : 1;
        return users > 1 ? $"its superblock names {users} file systems as users (an internal journal has one)" : null;
    }
}
