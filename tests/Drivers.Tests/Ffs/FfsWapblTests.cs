using System.Buffers.Binary;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>
/// File systems NetBSD was logging (WAPBL). The transaction in each log is real: the
/// sectors in which two makefs images of a tree, before and after a change, differ. The
/// log goes after the file system (NetBSD's end-of-partition log) on the "before" image,
/// so a correct replay must show exactly what makefs wrote in the "after" one.
/// </summary>
public sealed class FfsWapblTests
{
    private const int LogBytes = 256 * 1024;
    private const int FlagWapbl = 0x100;
    private static readonly byte[] s_newBin = Random(40_000, 3);

    private static byte[] Random(int n, int seed)
    {
        byte[] b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    private static void FillBefore(string src)
    {
        File.WriteAllText(Path.Combine(src, "keep.txt"), string.Concat(Enumerable.Repeat("keep this line\n", 400)));
        Directory.CreateDirectory(Path.Combine(src, "d"));
        File.WriteAllText(Path.Combine(src, "d", "old.txt"), "old\n");
        File.WriteAllText(Path.Combine(src, "d", "change.txt"), string.Concat(Enumerable.Repeat("before ", 1000)));
    }

    private static void FillAfter(string src)
    {
        File.WriteAllText(Path.Combine(src, "keep.txt"), string.Concat(Enumerable.Repeat("keep this line\n", 400)));
        Directory.CreateDirectory(Path.Combine(src, "d"));
        File.WriteAllText(Path.Combine(src, "d", "change.txt"), string.Concat(Enumerable.Repeat("after! ", 1200)));
        File.WriteAllBytes(Path.Combine(src, "new.bin"), s_newBin);
        Directory.CreateDirectory(Path.Combine(src, "newdir"));
        File.WriteAllText(Path.Combine(src, "newdir", "n.txt"), "n\n");
    }

    private static string Makefs(ScratchDir dir, string name, string version, string order, Action<string> fill)
    {
        string src = Path.Combine(dir.Path, name + "-src");
        Directory.CreateDirectory(src);
        fill(src);
        string img = dir.File(name + ".img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-B", order, "-o", $"version={version}", "-s", "8m", img, src);
        return img;
    }

    /// <summary>A copy of <paramref name="image"/> whose superblock records an end-of-partition log just past the file system.</summary>
    private static byte[] MarkLogged(byte[] image, bool logging = true) => MarkLogged(image, 1, image.Length / 512, 0, LogBytes, logging);

    /// <summary>A copy whose superblock records a log at <paramref name="sector"/> (location 1: past the file system; 2: in the file <paramref name="ino"/>).</summary>
    private static byte[] MarkLogged(byte[] image, byte location, long sector, ulong ino, int logBytes, bool logging = true)
    {
        byte[] copy = (byte[])image.Clone();
        FfsSuperblock sb = FfsSuperblockCheck.Find(new MemoryBlockDevice(copy, readOnly: true), out _)!;
        Assert.True(sb.IsUfs2 || (sb.OldFlags & FfsSuperblock.OldFlagsUpdated) != 0, "makefs wrote an old-format superblock");
        Span<byte> s = copy.AsSpan((int)sb.Location);
        s[SuperblockFields.JournalVersion] = 1;
        s[SuperblockFields.JournalLocation] = location;
        sb.Order.W64(s, SuperblockFields.JournalLocs + 24, (long)ino);
        sb.Order.W64(s, SuperblockFields.JournalLocs, sector);
        sb.Order.W64(s, SuperblockFields.JournalLocs + 8, logBytes / 512);
        sb.Order.W64(s, SuperblockFields.JournalLocs + 16, 512);
        if (logging)
        {
            sb.Order.W32(s, SuperblockFields.Flags, sb.Order.I32(s, SuperblockFields.Flags) | FlagWapbl);
        }
        return copy;
    }

    private sealed record Scenario(byte[] Before, byte[] After, byte[] BeforePlain, byte[] AfterPlain, string AfterPath, bool BigEndian);

    private static Scenario Make(ScratchDir dir, string version, string order)
    {
        byte[] before = File.ReadAllBytes(Makefs(dir, "before", version, order, FillBefore));
        string afterPath = Makefs(dir, "after", version, order, FillAfter);
        byte[] after = File.ReadAllBytes(afterPath);
        Assert.Equal(before.Length, after.Length);
        return new Scenario(MarkLogged(before), MarkLogged(after), before, after, afterPath, order == "be");
    }

    private static byte[] Logged(Scenario s, WapblLogWriter log, long tail, int generation = 7, bool empty = false) =>
        [.. s.Before, .. log.Build(tail, generation, empty)];

    private static WapblLogWriter TransactionLog(Scenario s)
    {
        var log = new WapblLogWriter(s.BigEndian, LogBytes);
        log.Inodes(clear: true, []);
        log.Blocks(WapblLogWriter.Transaction(s.Before, s.After));
        return log;
    }

    private static SortedSet<string> TreeOf(byte[] image)
    {
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(new MemoryBlockDevice((byte[])image.Clone(), readOnly: true), true, out Mount? mp, out string? msg));
        try
        {
            return FfsTestMount.Walk(mp!);
        }
        finally
        {
            mp!.Unmount();
        }
    }

    private static void AssertShowsAfter(Mount mp, Scenario s)
    {
        Assert.Equal(TreeOf(s.AfterPlain), FfsTestMount.Walk(mp));
        Vnode change = FfsTestMount.Resolve(mp, "/d/change.txt");
        Assert.Equal(string.Concat(Enumerable.Repeat("after! ", 1200)), System.Text.Encoding.ASCII.GetString(FfsTestMount.ReadAll(change)));
        change.Release();
        Vnode bin = FfsTestMount.Resolve(mp, "/new.bin");
        Assert.Equal(s_newBin, FfsTestMount.ReadAll(bin));
        bin.Release();
        Vnode keep = FfsTestMount.Resolve(mp, "/keep.txt");
        Assert.Equal(string.Concat(Enumerable.Repeat("keep this line\n", 400)), System.Text.Encoding.ASCII.GetString(FfsTestMount.ReadAll(keep)));
        keep.Release();
    }

    private static FfsSuperblock SuperblockOf(MemoryBlockDevice dev) => FfsSuperblockCheck.Find(dev, out _)!;

    [Theory]
    [InlineData("1", "le")]
    [InlineData("2", "be")]
    public void ReadOnlyMount_ShowsTheLoggedTransaction_WritesNothing(string version, string order)
    {
        using var dir = new ScratchDir("wapbl");
        Scenario s = Make(dir, version, order);
        WapblLogWriter log = TransactionLog(s);
        // Start near the end of the circular area, so the records wrap around it.
        byte[] image = Logged(s, log, tail: log.CircOff + log.CircSize - (3 * WapblLogWriter.Block));
        byte[] copy = (byte[])image.Clone();
        var dev = new MemoryBlockDevice(image, readOnly: true);

        Assert.True(FfsTestMount.TryMount(dev, true, out Mount? mp, out string? msg) == Errno.OK, msg);
        AssertShowsAfter(mp!, s);
        mp!.Unmount();

        Assert.Equal(0, dev.WriteCount);
        Assert.Equal(copy, image);
        // Without the log the same image still holds the "before" tree.
        Assert.DoesNotContain("new.bin", TreeOf(s.BeforePlain));
    }

    [Theory]
    [InlineData("1", "le")]
    [InlineData("2", "be")]
    public void ReadWriteMount_ReplaysToTheImage_StopsLogging_CheckerClean(string version, string order)
    {
        using var dir = new ScratchDir("wapbl");
        Scenario s = Make(dir, version, order);
        WapblLogWriter log = TransactionLog(s);
        byte[] image = Logged(s, log, tail: log.CircOff + (5 * WapblLogWriter.Block), generation: 12);
        var dev = new MemoryBlockDevice(image);

        Assert.True(FfsTestMount.TryMount(dev, false, out Mount? mp, out string? msg) == Errno.OK, msg);
        AssertShowsAfter(mp!, s);
        Vnode d = FfsTestMount.Resolve(mp!, "/d");
        Assert.Equal(Errno.OK, Vop.Remove(d, "change.txt", Credentials.Root));
        d.Release();
        Assert.Equal(Errno.OK, mp!.Unmount());

        FfsSuperblock sb = SuperblockOf(dev);
        Assert.Equal(0, sb.Flags & FlagWapbl);
        Assert.Equal(FfsSuperblock.IsClean, sb.Clean);
        Assert.Equal(1, sb.JournalVersion); // the log's place stays recorded for NetBSD's next logged mount
        FfsCheckReport check = FfsCheck.Run(dev);
        Assert.True(check.IsClean, check.ToString());

        // A second mount has nothing to replay and sees the change made after the first.
        Assert.True(FfsTestMount.TryMount(dev, false, out mp, out msg) == Errno.OK, msg);
        SortedSet<string> tree = FfsTestMount.Walk(mp!);
        Assert.Contains("new.bin", tree);
        Assert.DoesNotContain("d/change.txt", tree);
        mp!.Unmount();
    }

    [Fact]
    public void ReadWriteMount_Ufs1_SleuthkitReadsTheReplayedImageAsMakefsWroteIt()
    {
        using var dir = new ScratchDir("wapbl");
        Scenario s = Make(dir, "1", "le");
        WapblLogWriter log = TransactionLog(s);
        var dev = new MemoryBlockDevice(Logged(s, log, tail: log.CircOff));
        Assert.True(FfsTestMount.TryMount(dev, false, out Mount? mp, out string? msg) == Errno.OK, msg);
        Assert.Equal(Errno.OK, mp!.Unmount());
        string replayed = dir.File("replayed.img");
        File.WriteAllBytes(replayed, dev.Contents);

        string expected = OracleTool.RunExpect(0, "fls", "-r", "-p", "-u", s.AfterPath).Stdout;
        Assert.Contains("new.bin", expected);
        Assert.Equal(expected, OracleTool.RunExpect(0, "fls", "-r", "-p", "-u", replayed).Stdout);
        string line = expected.Split('\n').First(l => l.EndsWith("\tnew.bin", StringComparison.Ordinal));
        string ino = System.Text.RegularExpressions.Regex.Match(line, @" (\d+):").Groups[1].Value;
        string extracted = dir.File("new.bin");
        OracleTool.RunExpect(0, "sh", "-c", $"icat {replayed} {ino} > {extracted}");
        Assert.Equal(s_newBin, File.ReadAllBytes(extracted));
    }

    /// <summary>
    /// A log inside the file system, in a file's blocks (NetBSD's in-file-system log, for
    /// partitions with no room after the file system): the same replay from there.
    /// </summary>
    [Theory]
    [InlineData("1", "be")]
    [InlineData("2", "le")]
    public void InFileSystemLog_ReplayedFromTheLogFilesBlocks(string version, string order)
    {
        using var dir = new ScratchDir("wapbl");
        // 16 KiB blocks: a 160 KiB file fits in the direct blocks, so makefs lays it out in one run.
        const int InFsLogBytes = 160 * 1024;
        byte[] filler = new byte[InFsLogBytes];
        Array.Fill(filler, (byte)0xEE);
        string beforePath = Makefs(dir, "before", version + ",bsize=16384,fsize=2048", order, src =>
        {
            File.WriteAllBytes(Path.Combine(src, "wapbl-log"), filler);
            FillBefore(src);
        });
        byte[] before = File.ReadAllBytes(beforePath);
        // The "after" state comes from the driver here, so the log file stays where it is.
        byte[] after = (byte[])before.Clone();
        var dev = new MemoryBlockDevice(after);
        Assert.True(FfsTestMount.TryMount(dev, false, out Mount? w, out string? wmsg) == Errno.OK, wmsg);
        Vnode root = FfsTestMount.Resolve(w!, "/");
        Vnode d = FfsTestMount.Resolve(w!, "/d");
        Assert.Equal(Errno.OK, Vop.Remove(d, "old.txt", Credentials.Root));
        Assert.Equal(Errno.OK, Vop.Remove(d, "change.txt", Credentials.Root));
        WriteNew(d, "change.txt", System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("after! ", 1200))));
        WriteNew(root, "new.bin", s_newBin);
        Assert.Equal(Errno.OK, Vop.Mkdir(root, "newdir", 0x1ED, Credentials.Root, out Vnode? nd));
        WriteNew(nd!, "n.txt", "n\n"u8.ToArray());
        nd!.Release();
        d.Release();
        root.Release();
        Assert.Equal(Errno.OK, w!.Unmount());
        long sector = FirstDataSector(before, "/wapbl-log");
        ulong ino = InoOf(before, "/wapbl-log");
        Assert.True(before.AsSpan((int)sector * 512, InFsLogBytes).SequenceEqual(filler), "the log file's blocks are not contiguous");
        Assert.True(after.AsSpan((int)sector * 512, InFsLogBytes).SequenceEqual(filler), "the driver moved the log file");
        string afterPath = "";

        var s = new Scenario(MarkLogged(before, 2, sector, ino, InFsLogBytes), MarkLogged(after, 2, sector, ino, InFsLogBytes), before, after, afterPath, order == "be");
        var log = new WapblLogWriter(s.BigEndian, InFsLogBytes);
        log.Blocks(WapblLogWriter.Transaction(s.Before, s.After));
        byte[] image = (byte[])s.Before.Clone();
        log.Build(tail: log.CircOff + (9 * WapblLogWriter.Block), generation: 4).CopyTo(image, sector * 512);

        var ro = new MemoryBlockDevice((byte[])image.Clone(), readOnly: true);
        Assert.True(FfsTestMount.TryMount(ro, true, out Mount? mp, out string? msg) == Errno.OK, msg);
        AssertShowsAfter(mp!, s);
        Assert.Contains($"in the file system (inode {ino})", mp!.Describe().Single(kv => kv.Key == "wapbl log").Value, StringComparison.Ordinal);
        mp.Unmount();

        var rw = new MemoryBlockDevice(image);
        Assert.True(FfsTestMount.TryMount(rw, false, out mp, out msg) == Errno.OK, msg);
        AssertShowsAfter(mp!, s);
        Assert.Equal(Errno.OK, mp!.Unmount());
        Assert.Equal(0, SuperblockOf(rw).Flags & FlagWapbl);
    }

    private static void WriteNew(Vnode dir, string name, byte[] data)
    {
        Assert.Equal(Errno.OK, Vop.Create(dir, name, 0x1A4, Credentials.Root, out Vnode? f));
        Assert.Equal(Errno.OK, Vop.Write(f!, 0, data, out int n));
        Assert.Equal(data.Length, n);
        f!.Release();
    }

    private static ulong InoOf(byte[] image, string path)
    {
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(new MemoryBlockDevice((byte[])image.Clone(), readOnly: true), true, out Mount? mp, out _));
        Vnode vp = FfsTestMount.Resolve(mp!, path);
        ulong ino = vp.Ino;
        vp.Release();
        mp!.Unmount();
        return ino;
    }

    [Fact]
    public void Replay_RevokedCopiesAreNotWrittenBack()
    {
        using var dir = new ScratchDir("wapbl");
        Scenario s = Make(dir, "2", "le");
        long keepSector = FirstDataSector(s.BeforePlain, "/keep.txt");
        Assert.True(s.Before.AsSpan((int)keepSector * 512, 512).SequenceEqual(s.After.AsSpan((int)keepSector * 512, 512)),
            "keep.txt's first sector must be outside the transaction for this test to mean anything");
        var log = new WapblLogWriter(false, LogBytes);
        log.Blocks([(keepSector, Random(512, 9))]);
        log.Revoke([(keepSector, 512)]);
        log.Blocks(WapblLogWriter.Transaction(s.Before, s.After));
        var dev = new MemoryBlockDevice(Logged(s, log, tail: log.CircOff), readOnly: true);

        Assert.True(FfsTestMount.TryMount(dev, true, out Mount? mp, out string? msg) == Errno.OK, msg);
        AssertShowsAfter(mp!, s);
        mp!.Unmount();
    }

    [Theory]
    [InlineData("1", "be")]
    [InlineData("2", "le")]
    public void ReadWriteMount_FreesTheInodesTheLogListsAsUnlinked(string version, string order)
    {
        using var dir = new ScratchDir("wapbl");
        byte[] before = File.ReadAllBytes(Makefs(dir, "before", version, order, FillBefore));
        byte[] after = File.ReadAllBytes(Makefs(dir, "after", version, order, FillAfter));

        // What a crash leaves when new.bin was unlinked while a process still had it open:
        // no name, no links, its storage still allocated.
        var live = new MemoryBlockDevice((byte[])after.Clone());
        Assert.True(FfsTestMount.TryMount(live, false, out Mount? mp, out string? msg) == Errno.OK, msg);
        Vnode open = FfsTestMount.Resolve(mp!, "/new.bin");
        ulong ino = open.Ino;
        Vnode root = FfsTestMount.Resolve(mp!, "/");
        Assert.Equal(Errno.OK, Vop.Remove(root, "new.bin", Credentials.Root));
        root.Release();
        Assert.Equal(Errno.OK, mp!.Sync());
        byte[] crashed = (byte[])live.Contents.Clone();
        FfsCheckReport leaked = FfsCheck.Run(new MemoryBlockDevice((byte[])crashed.Clone(), readOnly: true));
        Assert.Contains(leaked.Findings, f => f.Location == (long)ino && f.Message.Contains("unreferenced", StringComparison.Ordinal));
        open.Release();
        mp.Unmount();

        var s = new Scenario(MarkLogged(before), MarkLogged(crashed), before, crashed, "", order == "be");
        var log = new WapblLogWriter(s.BigEndian, LogBytes);
        log.Blocks(WapblLogWriter.Transaction(s.Before, s.After));
        log.Inodes(clear: true, [(99_999_999u, 0x81A4u)]); // cleared by the next list
        log.Inodes(clear: true, [((uint)ino, 0x81A4u)]);
        var dev = new MemoryBlockDevice(Logged(s, log, tail: log.CircOff + (40 * WapblLogWriter.Block)));

        Assert.True(FfsTestMount.TryMount(dev, false, out mp, out msg) == Errno.OK, msg);
        Assert.DoesNotContain("new.bin", FfsTestMount.Walk(mp!));
        Assert.Equal(Errno.OK, mp!.Unmount());
        FfsCheckReport check = FfsCheck.Run(dev);
        Assert.True(check.IsClean, check.ToString());
        Assert.Equal(FfsCheck.Run(new MemoryBlockDevice(before, readOnly: true)).InodesInUse + 1, check.InodesInUse);
    }

    [Fact]
    public void EmptyLog_ReadWriteMountStopsLoggingAndChangesNothingElse()
    {
        using var dir = new ScratchDir("wapbl");
        Scenario s = Make(dir, "2", "be");
        var log = new WapblLogWriter(true, LogBytes);
        var dev = new MemoryBlockDevice(Logged(s, log, tail: 0, empty: true));
        Assert.True(FfsTestMount.TryMount(dev, false, out Mount? mp, out string? msg) == Errno.OK, msg);
        Assert.Equal(TreeOf(s.BeforePlain), FfsTestMount.Walk(mp!));
        Assert.Equal(Errno.OK, mp!.Unmount());
        Assert.Equal(0, SuperblockOf(dev).Flags & FlagWapbl);
        Assert.True(FfsCheck.Run(dev).IsClean);
    }

    public static TheoryData<string> DamagedLogs => ["unknown record type", "record longer than the log", "sector outside the file system", "header length"];

    [Theory]
    [MemberData(nameof(DamagedLogs))]
    public void DamagedLog_RefusesTheMountWithoutWriting_ForceReadsWithoutIt(string damage)
    {
        using var dir = new ScratchDir("wapbl");
        Scenario s = Make(dir, "1", "le");
        WapblLogWriter log = TransactionLog(s);
        byte[] bad = new byte[WapblLogWriter.Block];
        switch (damage)
        {
            case "unknown record type":
                BinaryPrimitives.WriteUInt32LittleEndian(bad, 0x12345678);
                BinaryPrimitives.WriteInt32LittleEndian(bad.AsSpan(4), WapblLogWriter.Block);
                log.Raw(bad);
                break;
            case "record longer than the log":
                BinaryPrimitives.WriteUInt32LittleEndian(bad, 0x5741424c + 3);
                BinaryPrimitives.WriteInt32LittleEndian(bad.AsSpan(4), LogBytes * 2);
                log.Raw(bad);
                break;
            case "sector outside the file system":
                log.Blocks([(s.Before.Length / 512, new byte[512])]);
                break;
        }
        byte[] image = Logged(s, log, tail: log.CircOff);
        if (damage == "header length")
        {
            BinaryPrimitives.WriteInt32LittleEndian(image.AsSpan(s.Before.Length + (7 % 2 * 512) + 4), 100);
        }
        byte[] copy = (byte[])image.Clone();
        var dev = new MemoryBlockDevice(image);

        Errno e = FfsTestMount.TryMount(dev, false, out Mount? mp, out string? msg);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Null(mp);
        Assert.Contains("WAPBL log", msg);
        Assert.Equal(0, dev.WriteCount);
        Assert.Equal(copy, image);
        Assert.Equal(Errno.EINVAL, FfsTestMount.TryMount(dev, true, out _, out _));

        Assert.Equal(Errno.OK, FfsTestMount.TryMount(dev, true, out mp, out msg, new MountOptions { Force = true }));
        Assert.Equal(TreeOf(s.BeforePlain), FfsTestMount.Walk(mp!));
        mp!.Unmount();
        Assert.Equal(copy, image);

        CheckReport report = new FfsChecker().Check(new MemoryBlockDevice(copy, readOnly: true), repair: false);
        Assert.Equal(4, report.ExitCode);
        Assert.Contains(report.Findings, f => f.Location == "WAPBL log");
    }

    /// <summary>
    /// A log that is well formed but whose replay would leave a file system the mount refuses
    /// (here cylinder group 0's header zeroed): the read-write mount is refused before any
    /// of the replay is written, as the read-only one is.
    /// </summary>
    [Theory]
    [InlineData("1", "le")]
    [InlineData("2", "be")]
    public void ReplayThatWouldDamageTheFileSystem_RefusedBeforeAnythingIsWritten(string version, string order)
    {
        using var dir = new ScratchDir("wapbl");
        Scenario s = Make(dir, version, order);
        FfsSuperblock sb = FfsSuperblockCheck.Find(new MemoryBlockDevice(s.BeforePlain, readOnly: true), out _)!;
        var log = new WapblLogWriter(s.BigEndian, LogBytes);
        log.Blocks([(sb.FragToBytes(sb.CgTod(0)) / 512, new byte[512])]);
        byte[] image = Logged(s, log, tail: log.CircOff);
        byte[] copy = (byte[])image.Clone();
        var dev = new MemoryBlockDevice(image);

        Errno e = FfsTestMount.TryMount(dev, false, out Mount? mp, out string? msg);
        Assert.Equal(Errno.EINVAL, e);
        Assert.Null(mp);
        Assert.Contains("after the WAPBL replay", msg, StringComparison.Ordinal);
        Assert.Contains("cylinder group 0", msg, StringComparison.Ordinal);
        Assert.Equal(0, dev.WriteCount);
        Assert.Equal(copy, image);
        Assert.Equal(Errno.EINVAL, FfsTestMount.TryMount(new MemoryBlockDevice(image, readOnly: true), true, out _, out _));
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(new MemoryBlockDevice(image, readOnly: true), true, out mp, out _, new MountOptions { Force = true }));
        Assert.Equal(TreeOf(s.BeforePlain), FfsTestMount.Walk(mp!));
        mp!.Unmount();
    }

    /// <summary>
    /// A log whose replay would leave a superblock with no block size: the mount is refused
    /// without writing, `-o ro,force` reads the file system without the log, and fsck -y
    /// drops the log instead of writing it, keeping the superblock it has.
    /// </summary>
    [Fact]
    public void ReplayThatWouldBreakTheSuperblock_ForceReadsWithoutIt_RepairDropsTheLog()
    {
        using var dir = new ScratchDir("wapbl");
        Scenario s = Make(dir, "2", "le");
        FfsSuperblock sb = FfsSuperblockCheck.Find(new MemoryBlockDevice(s.BeforePlain, readOnly: true), out _)!;
        long sector = (sb.Location + SuperblockFields.Bsize) / 512;
        byte[] piece = s.Before.AsSpan((int)sector * 512, 512).ToArray();
        sb.Order.W32(piece, (int)(sb.Location + SuperblockFields.Bsize - (sector * 512)), 0);
        var log = new WapblLogWriter(false, LogBytes);
        log.Blocks([(sector, piece)]);
        byte[] image = Logged(s, log, tail: log.CircOff);
        byte[] copy = (byte[])image.Clone();

        var dev = new MemoryBlockDevice(image);
        Assert.Equal(Errno.EINVAL, FfsTestMount.TryMount(dev, false, out _, out string? msg));
        Assert.Contains("superblock after the WAPBL replay: bad block size 0", msg, StringComparison.Ordinal);
        Assert.Equal(copy, image);
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(new MemoryBlockDevice(image, readOnly: true), true, out Mount? mp, out _, new MountOptions { Force = true }));
        Assert.Equal(TreeOf(s.BeforePlain), FfsTestMount.Walk(mp!));
        mp!.Unmount();

        CheckReport repair = new FfsChecker().Check(dev, repair: true);
        Assert.Contains(repair.Findings, f => f.Location == "WAPBL log" && f.Repaired && f.Message.Contains("dropped", StringComparison.Ordinal));
        Assert.True(repair.OperationalError is null, repair.OperationalError);
        Assert.Equal(0, SuperblockOf(dev).Flags & FlagWapbl);
        Assert.Equal(sb.Bsize, SuperblockOf(dev).Bsize);
        Assert.Equal(TreeOf(s.BeforePlain), TreeOf(dev.Contents));
    }

    [Fact]
    public void Checker_ChecksWithTheLogInMemory_RepairReplaysAndStopsLogging()
    {
        using var dir = new ScratchDir("wapbl");
        Scenario s = Make(dir, "2", "be");
        WapblLogWriter log = TransactionLog(s);
        byte[] image = Logged(s, log, tail: log.CircOff);
        byte[] copy = (byte[])image.Clone();

        var ro = new MemoryBlockDevice(image, readOnly: true);
        CheckReport check = new FfsChecker().Check(ro, repair: false);
        Assert.True(check.ExitCode == 0, string.Join("\n", check.Findings));
        Assert.Contains(check.Findings, f => f.Message.Contains("in memory", StringComparison.Ordinal));
        Assert.Equal(copy, image);

        var rw = new MemoryBlockDevice(image);
        CheckReport repair = new FfsChecker().Check(rw, repair: true);
        Assert.True(repair.ExitCode == 0, string.Join("\n", repair.Findings));
        Assert.Contains(repair.Findings, f => f.Message.Contains("logging stopped", StringComparison.Ordinal));
        Assert.Equal(0, SuperblockOf(rw).Flags & FlagWapbl);
        Assert.Contains("new.bin", TreeOf(rw.Contents));
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void Checker_CountsTheSuperblockAsTheInFileSystemLogInodesLink(bool markedAsLog, bool clean)
    {
        using var dir = new ScratchDir("wapbl");
        byte[] img = File.ReadAllBytes(Makefs(dir, "before", "2", "le", FillBefore));
        // An in-file-system log is a file no directory names, with one link and SF_LOG.
        var dev = new MemoryBlockDevice(img);
        Assert.True(FfsTestMount.TryMount(dev, false, out Mount? mp, out string? msg) == Errno.OK, msg);
        Vnode f = FfsTestMount.Resolve(mp!, "/keep.txt");
        ulong ino = f.Ino;
        Vnode root = FfsTestMount.Resolve(mp!, "/");
        Assert.Equal(Errno.OK, Vop.Remove(root, "keep.txt", Credentials.Root));
        root.Release();
        Assert.Equal(Errno.OK, mp!.Sync());
        byte[] snap = (byte[])dev.Contents.Clone();
        f.Release();
        mp.Unmount();

        var sdev = new MemoryBlockDevice(snap);
        FfsSuperblock sb = SuperblockOf(sdev);
        long at = sb.FragToBytes(sb.InoToFsba(ino)) + ((long)sb.InoToFsbo(ino) * sb.DinodeSize);
        var din = new FfsDinode();
        FfsDinodeRecord.Decode(sb, snap.AsSpan((int)at, sb.DinodeSize), din);
        din.Nlink = 1;
        if (markedAsLog)
        {
            din.Flags |= FfsWapblLayout.LogInodeFlag;
        }
        FfsDinodeRecord.Encode(sb, din, snap.AsSpan((int)at, sb.DinodeSize));
        Span<byte> raw = snap.AsSpan((int)sb.Location);
        raw[SuperblockFields.JournalVersion] = 1;
        raw[SuperblockFields.JournalLocation] = 2;
        sb.Order.W64(raw, SuperblockFields.JournalLocs + 24, (long)ino);

        FfsCheckReport check = FfsCheck.Run(sdev);
        Assert.True(check.IsClean == clean, check.ToString());
    }

    private static long FirstDataSector(byte[] image, string path)
    {
        var dev = new MemoryBlockDevice((byte[])image.Clone(), readOnly: true);
        Assert.Equal(Errno.OK, FfsTestMount.TryMount(dev, true, out Mount? mp, out _));
        var node = (FfsNode)FfsTestMount.Resolve(mp!, path);
        Assert.Equal(Errno.OK, node.Bmap(0, 1, out long phys, out _));
        long sector = ((FfsMount)mp!).Sb.FragToBytes(phys) / 512;
        node.Release();
        mp!.Unmount();
        return sector;
    }
}
