using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// ext4's orphan file (mke2fs -O orphan_file, a default of e2fsprogs 1.47.1 and later): our
/// check against e2fsck 1.47 on images mke2fs makes and debugfs or byte patches damage.
/// Clean ones are clean for both; each damage is found by both and, after our repair, both
/// find the image clean.
/// </summary>
public sealed partial class Ext2CheckOrphanFileTests : IDisposable
{
    private const uint OrphanIno = 12;
    private const int BlockSize = 1024;
    private const uint Magic = 0x0b10ca04;

    private readonly ScratchDir _dir = new("ext2ck-orphanfile");

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> Flavours => new() { "ext4", "ext4-nocsum", "ext3" };

    /// <summary>An image with the orphan file in inode 12 (32 blocks of 1 KiB) and a few files.</summary>
    private string Image(string flavour = "ext4")
    {
        string src = _dir.File("src");
        if (!Directory.Exists(src))
        {
            Directory.CreateDirectory(Path.Combine(src, "d"));
            File.WriteAllText(Path.Combine(src, "a.txt"), "hello\n");
            File.WriteAllBytes(Path.Combine(src, "victim.bin"), new byte[20_000]);
            File.WriteAllText(Path.Combine(src, "d", "b.txt"), "b\n");
        }
        string[] features = flavour switch
        {
            "ext4" => ["-t", "ext4", "-O", "orphan_file,metadata_csum_seed"],
            "ext4-nocsum" => ["-t", "ext4", "-O", "orphan_file,^metadata_csum,^64bit"],
            "ext3" => ["-t", "ext3", "-O", "orphan_file"],
            _ => throw new ArgumentException(flavour),
        };
        string img = _dir.File(flavour + ".img");
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", "1024" }, .. features, "-d", src, img, "16M"]);
        Assert.Contains($"Orphan file inode:        {OrphanIno}", Dumpe2fs(img), StringComparison.Ordinal);
        return img;
    }

    private static string Dumpe2fs(string img) => OracleTool.RunExpect(0, "dumpe2fs", "-h", img).Stdout;

    private static string OrphanStat(string img) => DebugfsRead(img, $"stat <{OrphanIno}>");

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_CleanImageWithAnOrphanFile_IsCleanForBoth(string flavour)
    {
        string img = Image(flavour);
        AssertBothClean(img);
        Assert.Equal(0, Check(img, repair: true).ExitCode);
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_SlotInUseInABlock_FoundAndCleared(string flavour)
    {
        string img = Image(flavour);
        long at = Bmap(img, $"<{OrphanIno}>", 3) * BlockSize;
        Patch(img, at + 8, 13, 0, 0, 0);
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Location == $"inode {OrphanIno} block 3" && f.Message.Contains("not clean", StringComparison.Ordinal));
        Assert.Equal(new byte[4], ReadAt(img, at + 8, 4));
        Assert.Equal(Magic, BinaryPrimitives.ReadUInt32LittleEndian(ReadAt(img, at + BlockSize - 8, 4)));
    }

    [Fact]
    public void Check_BlockChecksumWrong_FoundAndRewrittenAsE2fsckWritesIt()
    {
        string img = Image();
        long at = Bmap(img, $"<{OrphanIno}>", 0) * BlockSize;
        byte[] good = ReadAt(img, at, BlockSize);
        Patch(img, at + BlockSize - 4, (byte)(good[BlockSize - 4] ^ 0xff));
        RepairRoundTrip(img);
        Assert.Equal(good, ReadAt(img, at, BlockSize));
    }

    /// <summary>
    /// e2fsck -n reports it; e2fsck 1.47.2 and later clear the flag quietly in their orphan
    /// release once the file is read through (1.47.0 and 1.47.1 ask in pass 5), as ours does.
    /// </summary>
    [Fact]
    public void Check_OrphanPresentOnACleanFile_FlagClearedByTheRelease()
    {
        string img = Image();
        Debugfs(img, "feature orphan_present");
        ReleaseRoundTrip(img);
        Assert.DoesNotContain("orphan_present", Dumpe2fs(img), StringComparison.Ordinal);
        Assert.Contains("orphan_file", Dumpe2fs(img), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_OrphanFileNotARegularFile_MadeOne()
    {
        string img = Image();
        Debugfs(img, $"set_inode_field <{OrphanIno}> mode 020600");
        RepairRoundTrip(img);
        Assert.Contains("Type: regular", OrphanStat(img), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_EntryNamingTheOrphanFile_Removed()
    {
        string img = Image();
        Debugfs(img, $"ln <{OrphanIno}> /x");
        CheckReport before = RepairRoundTrip(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("'x' has bad inode number 12", StringComparison.Ordinal));
        Assert.Contains("not found", OracleTool.Run("debugfs", "-R", "stat /x", img).Transcript, StringComparison.Ordinal);
    }

    /// <summary>Not whole blocks: e2fsck -y makes the file afresh; ours makes it in the same blocks, byte for byte.</summary>
    [Theory]
    [MemberData(nameof(Flavours))]
    public void Check_SizeNotWholeBlocks_MadeAfreshAsE2fsckMakesIt(string flavour)
    {
        string img = Image(flavour);
        Debugfs(img, $"set_inode_field <{OrphanIno}> size 32000");
        string theirs = CopyBeside(img, "theirs.img");
        RepairRoundTrip(img);
        OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.Equal(BlocksLine(OrphanStat(theirs)), BlocksLine(OrphanStat(img)));
        Assert.Contains("Size: 32768", OrphanStat(img), StringComparison.Ordinal);
        for (int logical = 0; logical < 32; logical++)
        {
            long at = Bmap(img, $"<{OrphanIno}>", logical) * BlockSize;
            Assert.Equal(ReadAt(theirs, at, BlockSize), ReadAt(img, at, BlockSize));
        }
    }

    /// <summary>The block map as debugfs shows it (EXTENTS or BLOCKS), the line after the heading.</summary>
    private static string BlocksLine(string stat)
    {
        string[] lines = stat.Split('\n');
        int i = Array.FindIndex(lines, l => l.StartsWith("EXTENTS:", StringComparison.Ordinal) || l.StartsWith("BLOCKS:", StringComparison.Ordinal));
        Assert.True(i >= 0 && i + 1 < lines.Length, stat);
        return lines[i + 1].Trim();
    }

    /// <summary>
    /// A hole: e2fsck 1.47 does not see it in an extent-mapped file, but the kernel reads every
    /// block of the orphan file at mount and refuses the mount at a hole; ours remakes it.
    /// </summary>
    [Fact]
    public void Check_HoleInTheOrphanFile_FoundAndMadeAfresh_E2fsckAgreesAfterwards()
    {
        string img = Image();
        Debugfs(img, $"punch <{OrphanIno}> 5 5");
        Assert.Equal(0, E2fsck(img).ExitCode);
        CheckReport ours = Check(img, repair: false);
        Assert.Equal(4, ours.ExitCode);
        Assert.Contains(ours.Findings, f => f.Message.Contains("not all mapped", StringComparison.Ordinal));
        Assert.Equal(1, Check(img, repair: true).ExitCode);
        AssertBothClean(img);
        Assert.Matches(@"^\(0-31\):\d+-\d+$", BlocksLine(OrphanStat(img)));
    }

    [Fact]
    public void Check_OrphanFileWithoutAJournal_FileRemovedAndFeatureCleared()
    {
        string img = Image();
        Debugfs(img, "feature -has_journal");
        Debugfs(img, "set_super_value journal_inum 0");
        Debugfs(img, "clri <8>");
        RepairRoundTrip(img);
        string sb = Dumpe2fs(img);
        Assert.DoesNotContain("orphan_file", sb, StringComparison.Ordinal);
        Assert.DoesNotContain("Orphan file inode", sb, StringComparison.Ordinal);
        Assert.Contains("is not in use", DebugfsRead(img, $"testi <{OrphanIno}>"), StringComparison.Ordinal);
    }

    /// <summary>orphan_present without orphan_file: both find it; ours keeps the old file's inode (in lost+found), e2fsck clears it.</summary>
    [Fact]
    public void Check_OrphanPresentWithoutTheFeature_FlagClearedAndNothingLost()
    {
        string img = Image();
        Debugfs(img, "feature -orphan_file orphan_present");
        RepairRoundTrip(img);
        string sb = Dumpe2fs(img);
        Assert.DoesNotContain("orphan_present", sb, StringComparison.Ordinal);
        Assert.DoesNotContain("Orphan file inode", sb, StringComparison.Ordinal);
        Assert.Contains($"#{OrphanIno}", DebugfsRead(img, "ls /lost+found"), StringComparison.Ordinal);
    }

    /// <summary>
    /// What a crash leaves: a file unlinked while open, its inode (no links, blocks still
    /// held) in a slot of the orphan file, orphan_present set. Both checkers find it under -n;
    /// our repair releases it before pass 1 as e2fsck does (notes only): frees the inode and its
    /// blocks, clears the slot and the flag, and leaves the same free counts as e2fsck -fy on a
    /// copy.
    /// </summary>
    [Fact]
    public void Check_CrashLeftAnOrphanInTheFile_InodeReleasedSlotAndFlagCleared()
    {
        string img = Image();
        uint victim = InodeNumber(img, "/victim.bin");
        Debugfs(img, "set_inode_field /victim.bin links_count 0");
        Debugfs(img, "unlink /victim.bin");
        long phys = PutInOrphanSlot(img, 0, victim, checksum: true);
        string theirs = CopyBeside(img, "theirs.img");

        CheckReport fix = ReleaseRoundTrip(img);
        Assert.Contains(fix.Findings, f => f.Location == $"inode {victim}" && f.Message.StartsWith("clearing orphaned inode", StringComparison.Ordinal));
        OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.Equal(FreeCounts(theirs), FreeCounts(img));
        Assert.Contains("is not in use", DebugfsRead(img, $"testi <{victim}>"), StringComparison.Ordinal);
        Assert.Equal(new byte[4], ReadAt(img, phys * BlockSize, 4));
        Assert.DoesNotContain("orphan_present", Dumpe2fs(img), StringComparison.Ordinal);
    }

    /// <summary>
    /// A truncate the crash cut short: the file keeps its link, its size is already the new
    /// one, its blocks past it are still mapped, and its number is in a slot. e2fsck -fy cuts
    /// it to its size before pass 1; ours cuts it the same (same blocks, count and free
    /// counts), where it used to grow the size back over the stale blocks.
    /// </summary>
    [Theory]
    [InlineData("ext4", 5000)]
    [InlineData("ext4-nocsum", 0)]
    [InlineData("ext3", 13_000)]
    public void Check_InterruptedTruncateInASlot_CutToItsSizeAsE2fsckCutsIt(string flavour, int size)
    {
        string img = Image(flavour);
        uint victim = InodeNumber(img, "/victim.bin");
        Debugfs(img, $"set_inode_field /victim.bin size {size}");
        long phys = PutInOrphanSlot(img, 7, victim, checksum: flavour == "ext4");
        string theirs = CopyBeside(img, "theirs.img");

        CheckReport fix = ReleaseRoundTrip(img);
        Assert.Contains(fix.Findings, f => f.Location == $"inode {victim}" && f.Message.StartsWith("truncating orphaned inode", StringComparison.Ordinal));
        OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.Equal(FreeCounts(theirs), FreeCounts(img));
        Assert.Equal(DebugfsRead(theirs, "blocks /victim.bin"), DebugfsRead(img, "blocks /victim.bin"));
        string stat = DebugfsRead(img, "stat /victim.bin");
        Assert.Contains($"Size: {size}\n", stat, StringComparison.Ordinal);
        Assert.Contains(Regex.Match(DebugfsRead(theirs, "stat /victim.bin"), @"Blockcount: \d+").Value, stat, StringComparison.Ordinal);
        Assert.Equal(new byte[4], ReadAt(img, (phys * BlockSize) + (4 * 7), 4));
    }

    /// <summary>The orphan file's extent pointed at another file's blocks: the copy is cleaned, the other file keeps its bytes.</summary>
    [Fact]
    public void Check_OrphanFileSharingAnotherFilesBlocks_CopyCleanedOtherFileIntact()
    {
        string img = Image();
        string data = _dir.File("victim-before");
        OracleTool.RunExpect(0, "debugfs", "-R", $"dump /victim.bin {data}", img);
        File.WriteAllBytes(data, [.. Enumerable.Range(0, 20_000).Select(i => (byte)(i * 7))]);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "rm /victim.bin", img);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", $"write {data} /victim.bin", img);
        long victimBlock = Bmap(img, "/victim.bin", 0);
        Debugfs(img, $"sif <{OrphanIno}> block[5] {victimBlock}");
        RepairRoundTrip(img);
        string after = _dir.File("victim-after");
        OracleTool.RunExpect(0, "debugfs", "-R", $"dump /victim.bin {after}", img);
        Assert.Equal(File.ReadAllBytes(data), File.ReadAllBytes(after));
    }

    /// <summary>
    /// No links: e2fsck frees it like any deleted inode (and the kernel then cannot mount);
    /// ours makes it afresh, which e2fsck accepts.
    /// </summary>
    [Fact]
    public void Check_OrphanFileWithoutLinks_DamagedForBoth_MadeAfresh()
    {
        string img = Image();
        Debugfs(img, $"sif <{OrphanIno}> links_count 0");
        RepairRoundTrip(img);
        Assert.Contains("Links: 1", OrphanStat(img), StringComparison.Ordinal);
        Assert.Contains("Size: 32768", OrphanStat(img), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_OrphanFileFieldPastTheLastInode_ReportedWithoutAnInternalError()
    {
        string img = Image();
        Debugfs(img, "ssv orphan_file_inum 9999999");
        CheckReport ours = Check(img, repair: false);
        Assert.True(ours.ExitCode == 4, Describe(ours));
        Assert.Contains(ours.Findings, f => f.Message.Contains("past the last inode", StringComparison.Ordinal));
        Assert.Equal(1, Check(img, repair: true).ExitCode);
        Assert.Equal(0, Check(img, repair: false).ExitCode);
    }

    /// <summary>
    /// What a crash leaves in the orphan file: <paramref name="ino"/> in slot
    /// <paramref name="slot"/> of its first block (the block's checksum rewritten under
    /// metadata_csum) and orphan_present set; returns the block's number.
    /// </summary>
    private static long PutInOrphanSlot(string img, int slot, uint ino, bool checksum)
    {
        long phys = Bmap(img, $"<{OrphanIno}>", 0);
        byte[] block = ReadAt(img, phys * BlockSize, BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(4 * slot), ino);
        if (checksum)
        {
            uint seed = Convert.ToUInt32(SeedLine().Match(Dumpe2fs(img)).Groups[1].Value, 16);
            BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(BlockSize - 4), OrphanBlockChecksum(seed, OrphanIno, 0, (ulong)phys, block));
        }
        Patch(img, phys * BlockSize, block);
        Debugfs(img, "feature orphan_present");
        return phys;
    }

    /// <summary>The kernel's orphan block checksum, computed here on its own from the layout.</summary>
    private static uint OrphanBlockChecksum(uint seed, uint ino, uint generation, ulong phys, byte[] block)
    {
        uint crc = BitOperations.Crc32C(seed, ino);
        crc = BitOperations.Crc32C(crc, generation);
        crc = BitOperations.Crc32C(crc, phys);
        for (int i = 0; i < BlockSize - 8; i += 4)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(i)));
        }
        return crc;
    }

    [GeneratedRegex(@"Checksum seed:\s+0x([0-9a-f]+)")]
    private static partial Regex SeedLine();
}
