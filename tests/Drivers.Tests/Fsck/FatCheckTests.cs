using System.Buffers.Binary;
using RumpFs.FsDrivers.Msdosfs.Check;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// Our FAT check against fsck.fat on images made by mkfs.fat and mtools, clean and damaged
/// in known ways: both must agree, and after our repair both must find the image clean.
/// </summary>
public sealed class FatCheckTests
{
    public static TheoryData<string> Kinds => new() { "12", "16", "32" };

    internal static string Build(ScratchDir dir, string bits)
    {
        string img = dir.File($"fat{bits}.img");
        FatTestImages.MkfsWithFiles(img, bits switch { "12" => 3L << 20, "16" => 24L << 20, _ => 40L << 20 }, bits);
        return img;
    }

    /// <summary>Damage found by both, repaired by us (exit 1), then clean for both; returns the finding texts.</summary>
    internal static string RepairRoundTrip(string img, string expectPhase)
    {
        CheckReport before = FatTestImages.AssertBothDamaged(img);
        Assert.Contains(before.Findings, f => f.Phase == expectPhase && f.Severity == CheckSeverity.Error && !f.Repaired);
        CheckReport fix = FatTestImages.Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, FatTestImages.Describe(fix));
        Assert.All(fix.Findings.Where(f => f.Severity == CheckSeverity.Error), f => Assert.True(f.Repaired));
        FatTestImages.AssertBothClean(img);
        OracleTool.RunExpect(0, "mdir", "-i", img, "-/", "::/");
        return FatTestImages.Describe(before);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_CleanMkfsImageWithFiles_IsCleanForBoth(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        FatTestImages.AssertBothClean(img);
        CheckReport r = FatTestImages.Check(img, repair: true);
        Assert.Equal(0, r.ExitCode);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_FatCopiesDiffer_FoundAndFirstCopyWins(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        uint free = FatTestImages.FreeCluster(img);
        FatTestImages.SetFatEntry(img, free, FatTestImages.Boot(img).MaxCluster, 1); // second copy only
        string text = RepairRoundTrip(img, "fat");
        Assert.Contains("FAT copies differ", text, StringComparison.Ordinal);
        Assert.Equal(0u, FatTestImages.FatEntry(img, free));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_LostCluster_FoundAndSavedAsRecFile(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        uint free = FatTestImages.FreeCluster(img);
        FatTestImages.SetFatEntry(img, free, 0x0FFFFFFF);
        string text = RepairRoundTrip(img, "clusters");
        Assert.Contains("lost cluster", text, StringComparison.Ordinal);
        Assert.NotEqual(0u, FatTestImages.FatEntry(img, free));
        long rec = FatTestImages.RootEntryOffset(img, "FSCK0000REC");
        Assert.Equal(free, FatTestImages.StartCluster(img, rec));
        Assert.Equal((uint)FatTestImages.Boot(img).ClusterBytes, FatDirRecord.FileSizeOf(FatTestImages.ReadAt(img, rec, 32)));
    }

    /// <summary>
    /// A lost cluster, with the FSInfo free count that a driver writing this FAT keeps (the
    /// lost cluster counted as in use): one finding, the lost cluster, and the count stays
    /// right through the repair, which keeps the cluster in use as FSCK0000.REC.
    /// </summary>
    [Fact]
    public void Check_LostClusterWithFsInfoCountingItInUse_OneFindingAndTheCountFollowsTheRepair()
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, "32");
        long fsInfo = (long)FatTestImages.Boot(img).FsInfoSector * FatTestImages.Boot(img).BytesPerSector;
        uint countBefore = BinaryPrimitives.ReadUInt32LittleEndian(FatTestImages.ReadAt(img, fsInfo + 488, 4));
        uint free = FatTestImages.FreeCluster(img);
        FatTestImages.SetFatEntry(img, free, 0x0FFFFFFF);
        FatTestImages.Patch(img, fsInfo + 488, BitConverter.GetBytes(countBefore - 1));

        CheckReport n = FatTestImages.Check(img, repair: false);
        Assert.True(n.ExitCode == 4, FatTestImages.Describe(n));
        Assert.Equal(["clusters"], n.Findings.Select(f => f.Phase));
        CheckReport y = FatTestImages.Check(img, repair: true);
        Assert.True(y.ExitCode == 1, FatTestImages.Describe(y));
        Assert.Equal(countBefore - 1, BinaryPrimitives.ReadUInt32LittleEndian(FatTestImages.ReadAt(img, fsInfo + 488, 4)));
        FatTestImages.AssertBothClean(img);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_CrossLinkedFiles_FoundAndSecondTruncated(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long e0 = FatTestImages.RootEntryOffset(img, "FILE0   BIN");
        long e1 = FatTestImages.RootEntryOffset(img, "FILE1   BIN");
        uint start0 = FatTestImages.StartCluster(img, e0);
        // Point FILE1 at FILE0's chain: FILE1 now shares every cluster with FILE0.
        var entry = FatTestImages.ReadAt(img, e1, 32);
        FatDirRecord.SetCluster(entry, start0, FatTestImages.Boot(img).Kind);
        FatTestImages.Patch(img, e1, entry);
        string text = RepairRoundTrip(img, "directories");
        Assert.Contains("shares clusters", text, StringComparison.Ordinal);
        Assert.Equal(start0, FatTestImages.StartCluster(img, e0));
        Assert.Equal(0u, FatDirRecord.FileSizeOf(FatTestImages.ReadAt(img, e1, 32)));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_SizeLargerThanChain_FoundAndSizeFixed(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long e0 = FatTestImages.RootEntryOffset(img, "FILE0   BIN");
        FatTestImages.Patch(img, e0 + FatDirRecord.FileSize, BitConverter.GetBytes(1_000_000u));
        RepairRoundTrip(img, "directories");
        int clusterBytes = FatTestImages.Boot(img).ClusterBytes;
        uint size = FatDirRecord.FileSizeOf(FatTestImages.ReadAt(img, e0, 32));
        Assert.Equal((5000 + clusterBytes - 1) / clusterBytes * clusterBytes, (int)size);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_ChainLongerThanSize_FoundAndTruncated(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long e0 = FatTestImages.RootEntryOffset(img, "FILE0   BIN");
        List<uint> chain = FatTestImages.Chain(img, FatTestImages.StartCluster(img, e0));
        FatTestImages.Patch(img, e0 + FatDirRecord.FileSize, BitConverter.GetBytes(10u));
        RepairRoundTrip(img, "directories");
        Assert.Single(FatTestImages.Chain(img, FatTestImages.StartCluster(img, e0)));
        if (chain.Count > 1)
        {
            // The cut-off tail is lost, and saved as fsck.fat -a saves it.
            Assert.Equal(chain[1], FatTestImages.StartCluster(img, FatTestImages.RootEntryOffset(img, "FSCK0000REC")));
            Assert.Equal(chain[1..], FatTestImages.Chain(img, chain[1]));
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_ChainIntoFreeCluster_FoundAndEnded(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long e2 = FatTestImages.RootEntryOffset(img, "FILE2   BIN");
        List<uint> chain = FatTestImages.Chain(img, FatTestImages.StartCluster(img, e2));
        uint free = FatTestImages.FreeCluster(img);
        FatTestImages.SetFatEntry(img, chain[0], free);
        string text = RepairRoundTrip(img, "directories");
        Assert.Contains("free cluster", text, StringComparison.Ordinal);
        Assert.Single(FatTestImages.Chain(img, chain[0]));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_ChainLoop_FoundAndCut(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long e2 = FatTestImages.RootEntryOffset(img, "FILE2   BIN");
        List<uint> chain = FatTestImages.Chain(img, FatTestImages.StartCluster(img, e2));
        Assert.True(chain.Count >= 2);
        // Loop the chain back on itself, and make the size claim more than the clusters hold.
        FatTestImages.SetFatEntry(img, chain[^1], chain[0]);
        FatTestImages.Patch(img, e2 + FatDirRecord.FileSize, BitConverter.GetBytes(0x7FFFFFFFu));
        string text = RepairRoundTrip(img, "directories");
        Assert.Contains("loops", text, StringComparison.Ordinal);
        Assert.Equal(chain, FatTestImages.Chain(img, chain[0]));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_StartClusterPastEnd_FoundAndFileEmptied(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long e1 = FatTestImages.RootEntryOffset(img, "FILE1   BIN");
        var entry = FatTestImages.ReadAt(img, e1, 32);
        FatDirRecord.SetCluster(entry, FatTestImages.Boot(img).MaxCluster + 5, FatTestImages.Boot(img).Kind);
        FatTestImages.Patch(img, e1, entry);
        RepairRoundTrip(img, "directories");
        entry = FatTestImages.ReadAt(img, e1, 32);
        Assert.Equal(0u, FatDirRecord.Cluster(entry, FatTestImages.Boot(img).Kind));
        Assert.Equal(0u, FatDirRecord.FileSizeOf(entry));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_DirectoryWithSize_FoundAndZeroed(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long sub = FatTestImages.RootEntryOffset(img, "SUBDIR     ");
        FatTestImages.Patch(img, sub + FatDirRecord.FileSize, BitConverter.GetBytes(4096u));
        RepairRoundTrip(img, "directories");
        Assert.Equal(0u, FatDirRecord.FileSizeOf(FatTestImages.ReadAt(img, sub, 32)));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_WrongDotDot_FoundAndPointedAtParent(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        FatBootRecord b = FatTestImages.Boot(img);
        long sub = FatTestImages.RootEntryOffset(img, "SUBDIR     ");
        uint subStart = FatTestImages.StartCluster(img, sub);
        long dotdot = b.ClusterOffset(subStart) + 32;
        var entry = FatTestImages.ReadAt(img, dotdot, 32);
        Assert.Equal("..         "u8.ToArray(), entry[..11]);
        FatDirRecord.SetCluster(entry, subStart, b.Kind);
        FatTestImages.Patch(img, dotdot, entry);
        RepairRoundTrip(img, "directories");
        Assert.Equal(0u, FatDirRecord.Cluster(FatTestImages.ReadAt(img, dotdot, 32), b.Kind));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_BadShortName_FoundAndRenamed(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long e1 = FatTestImages.RootEntryOffset(img, "FILE1   BIN");
        FatTestImages.Patch(img, e1 + 2, (byte)'?');
        RepairRoundTrip(img, "directories");
        Assert.True(FatDirRecord.IsValidShortName(FatTestImages.ReadAt(img, e1, 11)));
    }

    /// <summary>
    /// An entry marked "no 8.3 name" (byte 12 bit 0x20) without a long name: fsck.fat calls
    /// its name bad, and so do we; the rename clears the mark, so both are clean after (before,
    /// ours passed it, and renames of other bad names kept the mark fsck.fat then rejected).
    /// With a long name, the mark makes the short name unjudged, for both.
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_NoShortNameMark_BadWithoutALongName_FineWithOne(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long withLongName = FatTestImages.RootEntryOffset(img, "ALONGF~1TXT");
        FatTestImages.Patch(img, withLongName + FatDirRecord.NtReserved, FatDirRecord.NoShortName);
        FatTestImages.AssertBothClean(img);

        long e1 = FatTestImages.RootEntryOffset(img, "FILE1   BIN");
        FatTestImages.Patch(img, e1 + FatDirRecord.NtReserved, FatDirRecord.NoShortName);
        string text = RepairRoundTrip(img, "directories");
        Assert.Contains("bad short name; renamed to FSCK", text, StringComparison.Ordinal);
        Assert.Equal(0, FatTestImages.ReadAt(img, e1 + FatDirRecord.NtReserved, 1)[0] & FatDirRecord.NoShortName);
        Assert.Equal(File1Bytes, Mtype(img, "/" + System.Text.Encoding.ASCII.GetString(FatTestImages.ReadAt(img, e1, 8)) + ".REN"));
    }

    /// <summary>
    /// A bad short name whose long name still matches it (its slots' checksum agrees, as
    /// when the damage keeps the sum): the rename to FSCKnnnn.REN also rewrites the slots'
    /// checksum, so the long name stays and the next check is clean.
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_BadShortNameWithLongName_RenamedAndLongNameKept(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long shortEntry = FatTestImages.RootEntryOffset(img, "ALONGF~1TXT");
        FatTestImages.Patch(img, shortEntry + 8, (byte)'?');
        byte checksum = FatDirRecord.ShortNameChecksum(FatTestImages.ReadAt(img, shortEntry, 32));
        for (long slot = shortEntry - 32; FatDirRecord.IsLongName(FatTestImages.ReadAt(img, slot, 32)); slot -= 32)
        {
            FatTestImages.Patch(img, slot + FatDirRecord.LfnChecksum, checksum);
        }
        string text = RepairRoundTrip(img, "directories");
        Assert.Contains("bad short name; renamed to FSCK", text, StringComparison.Ordinal);
        Assert.Equal("hello"u8.ToArray(), Mtype(img, "/a long file name.txt"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_DirtyBit_FoundAndCleared(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        FatBootRecord b = FatTestImages.Boot(img);
        long at = b.ExtOffset + FatBootRecord.Offsets.ExtState;
        FatTestImages.Patch(img, at, 0x01);
        RepairRoundTrip(img, "boot");
        Assert.Equal(0, FatTestImages.ReadAt(img, at, 1)[0] & 1);
    }

    [Theory]
    [InlineData("16", 0x8000u)]
    [InlineData("32", 0x08000000u)]
    public void Check_CleanShutdownBitClear_FoundAndSet(string bits, uint cleanBit)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        uint entry1 = FatTestImages.FatEntry(img, 1);
        Assert.NotEqual(0u, entry1 & cleanBit);
        FatTestImages.SetFatEntry(img, 1, entry1 & ~cleanBit);
        string text = RepairRoundTrip(img, "fat");
        Assert.Contains("clean-shutdown bit", text, StringComparison.Ordinal);
        Assert.Equal(entry1, FatTestImages.FatEntry(img, 1));
    }

    [Fact]
    public void Check_Fat32FsInfoFreeCountWrong_FoundAndFixed()
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, "32");
        long at = 512 + RumpFs.FsDrivers.Msdosfs.FsInfo.FreeCount;
        uint real = BinaryPrimitives.ReadUInt32LittleEndian(FatTestImages.ReadAt(img, at, 4));
        FatTestImages.Patch(img, at, BitConverter.GetBytes(real - 100));
        RepairRoundTrip(img, "fsinfo");
        Assert.Equal(real, BinaryPrimitives.ReadUInt32LittleEndian(FatTestImages.ReadAt(img, at, 4)));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_LongNameChecksumWrong_FoundAndOrphansDeleted(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long shortEntry = FatTestImages.RootEntryOffset(img, "ALONGF~1TXT");
        byte[] lfn = FatTestImages.ReadAt(img, shortEntry - 32, 32);
        Assert.True(FatDirRecord.IsLongName(lfn));
        FatTestImages.Patch(img, shortEntry - 32 + FatDirRecord.LfnChecksum, (byte)(lfn[FatDirRecord.LfnChecksum] ^ 0x55));
        CheckReport before = FatTestImages.Check(img, repair: false);
        Assert.Equal(4, before.ExitCode);
        Assert.Contains(before.Findings, f => f.Message.Contains("long", StringComparison.Ordinal));
        ToolResult oracle = FatTestImages.FsckFat(img);
        Assert.Contains("long", oracle.Stdout + oracle.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, FatTestImages.Check(img, repair: true).ExitCode);
        FatTestImages.AssertBothClean(img);
        oracle = FatTestImages.FsckFat(img);
        Assert.DoesNotContain("long file name", oracle.Stdout, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A file's bytes as mtools reads them (mcopy to a host file).</summary>
    internal static byte[] Mtype(string img, string path)
    {
        string host = img + ".out";
        OracleTool.RunExpect(0, "mcopy", "-n", "-i", img, "::" + path, host);
        byte[] data = File.ReadAllBytes(host);
        File.Delete(host);
        return data;
    }

    private static readonly byte[] File1Bytes = Enumerable.Range(0, 10000).Select(b => (byte)b).ToArray();

    /// <summary>
    /// A file whose attribute byte gained the directory bit: a directory has no size and
    /// starts with "." and "..", so the repair makes it a file again and its data stays
    /// (made a directory, its bytes would be read as entries).
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_FileMarkedAsDirectory_BecomesAFileAgainWithItsData(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long e1 = FatTestImages.RootEntryOffset(img, "FILE1   BIN");
        byte attr = FatTestImages.ReadAt(img, e1 + FatDirRecord.Attributes, 1)[0];
        FatTestImages.Patch(img, e1 + FatDirRecord.Attributes, (byte)(attr | FatDirRecord.AttrDirectory));
        string text = RepairRoundTrip(img, "directories");
        Assert.Contains("directory attribute cleared", text, StringComparison.Ordinal);
        Assert.Equal(attr, FatTestImages.ReadAt(img, e1 + FatDirRecord.Attributes, 1)[0]);
        Assert.Equal(File1Bytes, Mtype(img, "/FILE1.BIN"));
    }

    /// <summary>
    /// A file whose attribute byte gained the volume-label bit: skipped as a label, its
    /// clusters would be freed as lost. A label lives in the root and owns no clusters, so
    /// the repair clears the bit and the file keeps its data.
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_FileMarkedAsVolumeLabel_KeepsItsClusters(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long e1 = FatTestImages.RootEntryOffset(img, "FILE1   BIN");
        byte attr = FatTestImages.ReadAt(img, e1 + FatDirRecord.Attributes, 1)[0];
        FatTestImages.Patch(img, e1 + FatDirRecord.Attributes, (byte)(attr | FatDirRecord.AttrVolume));
        CheckReport fix = FatTestImages.Check(img, repair: true);
        Assert.Equal(1, fix.ExitCode);
        Assert.Contains(fix.Findings, f => f.Message.Contains("volume-label attribute", StringComparison.Ordinal));
        Assert.DoesNotContain(fix.Findings, f => f.Message.Contains("lost cluster", StringComparison.Ordinal));
        FatTestImages.AssertBothClean(img);
        Assert.Equal(attr, FatTestImages.ReadAt(img, e1 + FatDirRecord.Attributes, 1)[0]);
        Assert.Equal(File1Bytes, Mtype(img, "/FILE1.BIN"));
    }

    /// <summary>A long-name slot's start-cluster field (always 0) set: found by both and zeroed, the name kept.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_LongNameSlotWithStartCluster_Zeroed(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long shortEntry = FatTestImages.RootEntryOffset(img, "ALONGF~1TXT");
        Assert.True(FatDirRecord.IsLongName(FatTestImages.ReadAt(img, shortEntry - 32, 32)));
        FatTestImages.Patch(img, shortEntry - 32 + FatDirRecord.LfnCluster, 0xFF, 0x0F);
        string text = RepairRoundTrip(img, "directories");
        Assert.Contains("start cluster 4095; set to 0", text, StringComparison.Ordinal);
        Assert.Equal("hello"u8.ToArray(), Mtype(img, "/a long file name.txt"));
    }

    /// <summary>
    /// An entry zeroed amid live ones reads as the end of the directory to NetBSD and this
    /// driver, but Linux and fsck.fat read on past it. The repair marks it deleted, so the
    /// files after it stay visible and keep their clusters.
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_ZeroedEntryAmidLiveOnes_BecomesDeletedAndTheFilesAfterItStay(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long e0 = FatTestImages.RootEntryOffset(img, "FILE0   BIN");
        FatTestImages.Patch(img, e0, new byte[32]);
        CheckReport fix = FatTestImages.Check(img, repair: true);
        Assert.Equal(1, fix.ExitCode);
        Assert.Contains(fix.Findings, f => f.Message.Contains("marks the end of the directory but entries follow it", StringComparison.Ordinal));
        FatTestImages.AssertBothClean(img);
        // FILE0.BIN's entry is gone and its clusters lost: saved in the first free slot, its own.
        Assert.Equal("FSCK0000REC"u8.ToArray(), FatTestImages.ReadAt(img, e0, 11));
        byte[] rec = Mtype(img, "/FSCK0000.REC");
        Assert.Equal(File1Bytes[..5000], rec[..5000]);
        Assert.Equal(File1Bytes, Mtype(img, "/FILE1.BIN"));
        Assert.Equal("hello"u8.ToArray(), Mtype(img, "/a long file name.txt"));
    }

    /// <summary>
    /// An end marker followed only by deleted entries, as a driver leaves a directory whose
    /// last files were removed and whose freed slot then took a new last entry: clean for
    /// both (before, ours moved the end past the deleted entries as if live ones followed).
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Check_EndMarkerFollowedOnlyByDeletedEntries_CleanForBoth(string bits)
    {
        using var dir = new ScratchDir("fatck");
        string img = Build(dir, bits);
        long e1 = FatTestImages.RootEntryOffset(img, "FILE1   BIN");
        long e2 = FatTestImages.RootEntryOffset(img, "FILE2   BIN");
        Assert.True(e2 > e1);
        OracleTool.RunExpect(0, "mdel", "-i", img, "::/FILE1.BIN", "::/FILE2.BIN");
        Assert.Equal(FatDirRecord.Deleted, FatTestImages.ReadAt(img, e2, 1)[0]);
        FatTestImages.Patch(img, e1, 0); // FILE1's freed slot becomes the end, FILE2's stays deleted after it
        FatTestImages.AssertBothClean(img);
    }

    [Fact]
    public void Check_NotFat_IsOperationalError()
    {
        using var dev = new RumpFs.Kernel.Devices.MemoryBlockDevice(1 << 20);
        CheckReport r = new FatChecker().Check(dev, repair: false);
        Assert.Equal(8, r.ExitCode);
        Assert.NotNull(r.OperationalError);
    }

    [Fact]
    public void Check_RepairOnReadOnlyDevice_IsOperationalError()
    {
        using var dev = new RumpFs.Kernel.Devices.MemoryBlockDevice(new byte[1 << 20], readOnly: true);
        Assert.Equal(8, new FatChecker().Check(dev, repair: true).ExitCode);
    }
}
