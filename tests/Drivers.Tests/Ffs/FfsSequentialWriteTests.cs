using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>
/// Large sequential writes, which allocate whole blocks a contiguous run at a time: the
/// bitmaps, the cluster map and summary and every counter must come out as FfsCheck counts
/// them, the bytes must read back, and on UFS1 sleuthkit must see the same file.
/// </summary>
public sealed class FfsSequentialWriteTests : IDisposable
{
    private readonly ScratchDir _scratch = new("ffs-seqwrite");

    public void Dispose() => _scratch.Dispose();

    private static Vnode Create(Mount mp, string name)
    {
        Assert.Equal(Errno.OK, Namei.Resolve(mp, "/", NameiFlags.Follow, Credentials.Root, out Vnode? root));
        Errno e = Vop.Create(root!, name, 0x1A4, Credentials.Root, out Vnode? vp);
        root!.Release();
        Assert.True(e == Errno.OK, $"create {name}: {e}");
        return vp!;
    }

    private static byte[] Pattern(int length, int seed)
    {
        byte[] b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    /// <summary>Write <paramref name="data"/> at offset 0 in pieces of <paramref name="piece"/> bytes, in order.</summary>
    private static void WriteInPieces(Vnode vp, byte[] data, int piece)
    {
        for (int off = 0; off < data.Length; off += piece)
        {
            int n = Math.Min(piece, data.Length - off);
            Assert.Equal(Errno.OK, Vop.Write(vp, off, data.AsSpan(off, n), out int written));
            Assert.Equal(n, written);
        }
    }

    /// <summary>The cylinder groups holding the file's blocks, and how many device runs they form.</summary>
    private static (HashSet<int> Groups, int Runs) Layout(Mount mp, Vnode vp, long size)
    {
        var node = (FfsNode)vp;
        FfsSuperblock sb = ((FfsMount)mp).Sb;
        var groups = new HashSet<int>();
        int runs = 0;
        long blocks = (size + sb.Bsize - 1) >> sb.Bshift;
        for (long lbn = 0; lbn < blocks;)
        {
            Assert.Equal(Errno.OK, node.Bmap(lbn, int.MaxValue, out long phys, out int run));
            Assert.NotEqual(0, phys);
            groups.Add(sb.DtoG(phys));
            groups.Add(sb.DtoG(phys + ((long)(run - 1) << sb.FragShift)));
            runs++;
            lbn += run;
        }
        return (groups, runs);
    }

    /// <summary>An empty 160 MiB image from makefs: three cylinder groups, so a big file has groups to move on to.</summary>
    private string ThreeGroupImage(string name, int version, string endian)
    {
        string empty = Path.Combine(_scratch.Path, "empty");
        Directory.CreateDirectory(empty);
        string path = Path.Combine(_scratch.Path, name + ".img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-B", endian, "-o", $"version={version}", "-s", "160m", path, empty);
        return path;
    }

    [Theory]
    [InlineData("ufs1-le", 1, "le")]
    [InlineData("ufs2-be", 2, "be")]
    public void SequentialWrite_AcrossCylinderGroups_CheckCleanAndReadsBack(string image, int version, string endian)
    {
        string path = ThreeGroupImage(image, version, endian);
        // 64 MiB in 1 MiB writes (whole-block runs; more than the first group holds), then a
        // file in odd pieces that start and end inside blocks (single blocks and runs mixed),
        // then a small file that ends in a fragment.
        byte[] big = Pattern(64 << 20, 1);
        byte[] odd = Pattern((3 << 20) + 4321, 2);
        byte[] small = Pattern(20_000, 3);
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        FfsSuperblock sb = ((FfsMount)mp).Sb;
        Assert.True(sb.ContigSumSize > 0, "the image keeps cluster summaries");
        Assert.True(sb.Ncg >= 3, $"the image has {sb.Ncg} cylinder groups");
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs before));
        Vnode vp = Create(mp, "big");
        WriteInPieces(vp, big, 1 << 20);
        (HashSet<int> groups, int runs) = Layout(mp, vp, big.Length);
        Assert.True(groups.Count > 1, $"a 64 MiB file spans more than one group (groups {string.Join(",", groups)})");
        // The file's blocks follow each other, broken only by the indirect block in front of
        // each indirect block's stretch and once where the first group is full: no blocks
        // left behind in another group every maxbpg blocks.
        long blocks = big.Length >> sb.Bshift;
        int stretches = 1 + (int)Math.Ceiling((blocks - FfsSuperblock.NDAddr - sb.Nindir) / (double)sb.Nindir);
        Assert.True(runs <= stretches + 2, $"{big.Length >> 20} MiB written sequentially is in {runs} device runs, {stretches} indirect stretches");
        vp.Release();
        Vnode vo = Create(mp, "odd");
        WriteInPieces(vo, odd, 100_003);
        vo.Release();
        Vnode vs = Create(mp, "small");
        WriteInPieces(vs, small, 7_000);
        vs.Release();
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs after));
        long usedBytes = (before.BlocksFree - after.BlocksFree) * after.FragmentSize;
        Assert.InRange(usedBytes, big.Length + odd.Length + small.Length, big.Length + odd.Length + small.Length + (1L << 20));
        Assert.Equal(Errno.OK, mp.Unmount());

        FfsCheckReport report = FfsCheckTests.CheckImage(path);
        Assert.True(report.IsClean, report.ToString());

        Mount again = FfsTestMount.Open(path, readOnly: true);
        foreach ((string name, byte[] want) in new[] { ("big", big), ("odd", odd), ("small", small) })
        {
            Vnode r = FfsTestMount.Resolve(again, "/" + name);
            Assert.True(want.AsSpan().SequenceEqual(FfsTestMount.ReadAll(r)), $"{name} reads back differently");
            r.Release();
        }
        Assert.Equal(Errno.OK, again.Unmount());

        if (version == 1)
        {
            // sleuthkit reads UFS1 only; it must see the same bytes through its own block map.
            ToolResult st = OracleTool.RunExpect(0, "fsstat", path);
            Assert.Contains("UFS 1", st.Stdout, StringComparison.Ordinal);
            ToolResult fls = OracleTool.RunExpect(0, "fls", path);
            foreach ((string name, byte[] want) in new[] { ("big", big), ("odd", odd), ("small", small) })
            {
                string line = fls.Stdout.Split('\n').Single(l => l.EndsWith("\t" + name, StringComparison.Ordinal));
                string ino = line.Split('\t')[0].Split(' ')[^1].TrimEnd(':');
                string dump = Path.Combine(_scratch.Path, name + ".icat");
                ToolResult r = OracleTool.Run("bash", "-c", $"icat '{path}' {ino} > '{dump}'");
                Assert.True(r.ExitCode == 0, r.Transcript);
                Assert.True(want.AsSpan().SequenceEqual(File.ReadAllBytes(dump)), $"icat {name} differs");
            }
        }
    }

    [Theory]
    [InlineData("ffs1-empty-64m")]
    [InlineData("ffs2-empty-64m")]
    public void SequentialWrite_ThenRemove_ReturnsEveryBlockAndLeavesCleanImage(string image)
    {
        string path = Corpus.Get(image).CopyTo(_scratch);
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs before));
        Vnode vp = Create(mp, "big");
        WriteInPieces(vp, Pattern(24 << 20, 4), 1 << 20);
        vp.Release();
        Assert.Equal(Errno.OK, Namei.Resolve(mp, "/", NameiFlags.Follow, Credentials.Root, out Vnode? root));
        Assert.Equal(Errno.OK, Vop.Remove(root!, "big", Credentials.Root));
        root!.Release();
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs after));
        Assert.Equal(before.BlocksFree, after.BlocksFree);
        Assert.Equal(Errno.OK, mp.Unmount());
        FfsCheckReport report = FfsCheckTests.CheckImage(path);
        Assert.True(report.IsClean, report.ToString());
    }

    [Theory]
    [InlineData("ffs1-empty-64m")]
    [InlineData("ffs2-empty-64m")]
    public void Overwrite_IndirectPointerIntoInodeTable_ReturnsEioAndLeavesTableAlone(string image)
    {
        string path = Corpus.Get(image).CopyTo(_scratch);
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        Vnode vp = Create(mp, "f");
        WriteInPieces(vp, Pattern(200 << 10, 5), 1 << 20);
        vp.Release();
        Assert.Equal(Errno.OK, mp.Unmount());

        // Point the first entry of the file's indirect block (logical block 12) at a block of
        // the inode table of group 0.
        var d = new FfsDamage(path);
        FfsSuperblock sb = d.Sb;
        long ib = d.Inode(d.Ino("/f")).Ib[0];
        Assert.NotEqual(0, ib);
        long table = sb.CgIMin(0) - (sb.CgIMin(0) % sb.Frag) + sb.Frag;
        int at = (int)sb.FragToBytes(ib);
        if (sb.IsUfs2)
        {
            sb.Order.W64(d.Bytes.AsSpan(at), 0, table);
        }
        else
        {
            sb.Order.W32(d.Bytes.AsSpan(at), 0, (int)table);
        }
        byte[] before = d.Bytes.AsSpan((int)sb.FragToBytes(table), sb.Bsize).ToArray();

        Assert.Equal(Errno.OK, FfsTestMount.TryMount(d.Device, false, out Mount? dm, out string? msg));
        Assert.True(dm is not null, msg);
        Vnode f = FfsTestMount.Resolve(dm, "/f");
        // A whole-block overwrite of blocks 12..19 (the run path) and a partial one of block 12.
        Assert.Equal(Errno.EIO, Vop.Write(f, 12L * sb.Bsize, new byte[8 * sb.Bsize], out _));
        Assert.Equal(Errno.EIO, Vop.Write(f, (12L * sb.Bsize) + 100, new byte[100], out _));
        f.Release();
        dm.Unmount();
        Assert.True(before.AsSpan().SequenceEqual(d.Bytes.AsSpan((int)sb.FragToBytes(table), sb.Bsize)), "the inode table was written through the damaged pointer");
    }

    [Theory]
    [InlineData("ffs1-empty-64m")]
    [InlineData("ffs2-empty-64m")]
    public void BlockRuns_TakenAndGivenBackInPieces_LeaveExactMapsAndSummaries(string image)
    {
        string path = Corpus.Get(image).CopyTo(_scratch);
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        var fm = (FfsMount)mp;
        FfsSuperblock sb = fm.Sb;
        Assert.True(sb.ContigSumSize > 0);
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs before));
        Assert.Equal(Errno.OK, fm.AllocBlocks(sb.CgDMin(0) + (64L * sb.Frag), 24, out long s, out int got));
        Assert.Equal(24, got);
        long Blk(int k) => s + ((long)k * sb.Frag);
        // Free space before a run (back), after it (forw), on both sides, and neither.
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(Errno.OK, fm.Free(Blk(k), sb.Frag));
        }
        Assert.Equal(Errno.OK, fm.FreeBlocks(Blk(4), 6));
        Assert.Equal(Errno.OK, fm.FreeBlocks(Blk(14), 10));
        Assert.Equal(Errno.OK, fm.FreeBlocks(Blk(11), 2));
        Assert.Equal(Errno.OK, fm.FreeBlocks(Blk(10), 1));
        // Freeing a free block again is refused without changing anything.
        Assert.Equal(Errno.EIO, fm.FreeBlocks(Blk(12), 2));
        Assert.Equal(Errno.OK, fm.FreeBlocks(Blk(13), 1));
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs after));
        Assert.Equal(before.BlocksFree, after.BlocksFree);
        Assert.Equal(Errno.OK, mp.Unmount());
        FfsCheckReport report = FfsCheckTests.CheckImage(path);
        Assert.True(report.IsClean, report.ToString());
    }
}
