using RumpFs.FsDrivers.Ffs;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>Write workloads on copies of empty images, checked after unmount by FfsCheck and a remount.</summary>
public sealed class FfsWriteTests : IDisposable
{
    private readonly ScratchDir _scratch = new("ffs-write");

    public void Dispose() => _scratch.Dispose();

    public static TheoryData<string> Empties => new() { "ffs1-empty-64m", "ffs2-empty-64m", "ffs1-empty-4k-f512", "ffs2-empty-64k-f64k", "ffs1-empty-16k-f2k" };

    private string Fresh(string image) => Corpus.Get(image).CopyTo(_scratch);

    private static void AssertClean(string image, string when)
    {
        FfsCheckReport r = FfsCheckTests.CheckImage(image);
        Assert.True(r.IsClean, when + ": " + r);
    }

    private static Vnode Create(Mount mp, string path)
    {
        Assert.Equal(Errno.OK, Namei.ResolveParent(mp, path, Credentials.Root, out Vnode? dvp, out string name, out _));
        Errno e = Vop.Create(dvp!, name, 0x1A4, Credentials.Root, out Vnode? vp);
        dvp!.Release();
        Assert.True(e == Errno.OK, $"create {path}: {e}");
        return vp!;
    }

    private static void Truncate(Vnode vp, long size)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Size);
        va.Size = size;
        Assert.Equal(Errno.OK, Vop.SetAttr(vp, va, Credentials.Root));
    }

    [Theory]
    [MemberData(nameof(Empties))]
    public void TruncateDownThenUp_EachStep_LeavesConsistentImage(string image)
    {
        string path = Fresh(image);
        byte[] data = Enumerable.Repeat((byte)0xAB, 10_000).ToArray();
        foreach (int step in new[] { 0, 1, 2 })
        {
            Mount mp = FfsTestMount.Open(path, readOnly: false);
            Vnode vp = step == 0 ? Create(mp, "/t") : FfsTestMount.Resolve(mp, "/t");
            switch (step)
            {
                case 0:
                    Assert.Equal(Errno.OK, Vop.Write(vp, 0, data, out _));
                    break;
                case 1:
                    Truncate(vp, 3_000);
                    break;
                default:
                    Truncate(vp, 200_000);
                    break;
            }
            vp.Release();
            Assert.Equal(Errno.OK, mp.Unmount());
            AssertClean(path, $"after step {step}");
        }
    }

    [Theory]
    [MemberData(nameof(Empties))]
    public void FillToEnospc_ThenFree_CountsReturnAndImageStaysConsistent(string image)
    {
        string path = Fresh(image);
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs before));
        byte[] chunk = new byte[1 << 20];
        new Random(3).NextBytes(chunk);
        Vnode big = Create(mp, "/big");
        long off = 0;
        while (true)
        {
            Errno e = Vop.Write(big, off, chunk, out int n);
            off += n;
            if (e == Errno.ENOSPC || n < chunk.Length)
            {
                break;
            }
            Assert.Equal(Errno.OK, e);
            Assert.True(off < 128L << 20, "never ran out of space");
        }
        big.Release();
        // Fill the remaining fragments with small files until that fails too.
        int small = 0;
        for (; small < 5000; small++)
        {
            Assert.Equal(Errno.OK, Namei.Resolve(mp, "/", NameiFlags.Follow, Credentials.Root, out Vnode? root));
            Errno ce = Vop.Create(root!, $"s{small}", 0x1A4, Credentials.Root, out Vnode? vp);
            root!.Release();
            if (ce == Errno.ENOSPC)
            {
                break;
            }
            Assert.Equal(Errno.OK, ce);
            Errno we = Vop.Write(vp!, 0, chunk.AsSpan(0, 700), out _);
            vp!.Release();
            if (we == Errno.ENOSPC)
            {
                break;
            }
        }
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs full));
        Assert.True(full.BlocksFree < before.BlocksFree / 50, $"free {full.BlocksFree} of {before.BlocksFree}");
        Vnode bigAgain = FfsTestMount.Resolve(mp, "/big");
        Assert.Equal(Errno.OK, Vop.GetAttr(bigAgain, out VAttr bva));
        Assert.Equal(off, bva.Size);
        Assert.True(chunk.AsSpan(0, (int)Math.Min(off, chunk.Length)).SequenceEqual(FfsTestMount.ReadAll(bigAgain).AsSpan(0, (int)Math.Min(off, chunk.Length))));
        bigAgain.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
        AssertClean(path, "when full");

        mp = FfsTestMount.Open(path, readOnly: false);
        Assert.Equal(Errno.OK, mp.Root(out Vnode? r));
        Assert.Equal(Errno.OK, Vop.Remove(r!, "big", Credentials.Root));
        for (int i = 0; i <= small; i++)
        {
            Errno re = Vop.Remove(r!, $"s{i}", Credentials.Root);
            Assert.True(re is Errno.OK or Errno.ENOENT);
        }
        r!.Release();
        Assert.Equal(Errno.OK, Vop.Statvfs(mp, out StatVfs after));
        Assert.Equal(before.BlocksFree, after.BlocksFree);
        Assert.Equal(before.FilesFree, after.FilesFree);
        Assert.Equal(Errno.OK, mp.Unmount());
        AssertClean(path, "after freeing");
    }

    [Theory]
    [MemberData(nameof(Empties))]
    public void CleanFlag_DirtyWhileMountedReadWrite_CleanAfterUnmount(string image)
    {
        string path = Fresh(image);
        byte[] sbBytes = File.ReadAllBytes(path).AsSpan(8192, 2048).ToArray();
        Assert.Equal(FfsSuperblock.IsClean, sbBytes[SuperblockFields.Clean] & FfsSuperblock.IsClean);
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        Assert.Equal(0, ReadClean(path) & FfsSuperblock.IsClean);
        Vnode f = Create(mp, "/x");
        Assert.Equal(Errno.OK, Vop.Write(f, 0, "data"u8, out _));
        Assert.Equal(Errno.OK, Vop.Fsync(f, false));
        f.Release();
        Assert.Equal(0, ReadClean(path) & FfsSuperblock.IsClean);
        Assert.Equal(Errno.OK, mp.Unmount());
        Assert.Equal(FfsSuperblock.IsClean, ReadClean(path) & FfsSuperblock.IsClean);
        // A read-only mount writes nothing.
        byte[] before = File.ReadAllBytes(path);
        Mount ro = FfsTestMount.Open(path, readOnly: true);
        Vnode x = FfsTestMount.Resolve(ro, "/x");
        Assert.Equal("data"u8.ToArray(), FfsTestMount.ReadAll(x));
        x.Release();
        Assert.Equal(Errno.OK, ro.Unmount());
        Assert.True(before.AsSpan().SequenceEqual(File.ReadAllBytes(path)));
    }

    private static int ReadClean(string path)
    {
        using FileStream fs = File.OpenRead(path);
        fs.Position = 8192 + SuperblockFields.Clean;
        return fs.ReadByte();
    }

    [Theory]
    [MemberData(nameof(Empties))]
    public void Fsync_WithoutUnmount_DataAndInodeReachTheImage(string image)
    {
        string path = Fresh(image);
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        Vnode f = Create(mp, "/synced");
        byte[] data = new byte[300_000];
        new Random(9).NextBytes(data);
        Assert.Equal(Errno.OK, Vop.Write(f, 0, data, out _));
        Assert.Equal(Errno.OK, Vop.Fsync(f, false));
        // Read the image behind the mount's back, as a crash would leave it.
        string copy = _scratch.File("crash.img");
        File.Copy(path, copy);
        f.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
        var opts = new MountOptions { Force = true };
        Mount after = FfsTestMount.Open(copy, readOnly: true, opts);
        Vnode g = FfsTestMount.Resolve(after, "/synced");
        Assert.True(data.AsSpan().SequenceEqual(FfsTestMount.ReadAll(g)));
        g.Release();
        after.Unmount();
    }

    [Fact]
    public void HugeDirectory_CreatesAndLookupsDoNotScan()
    {
        string path = Fresh("ffs2-empty-64m");
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        Assert.Equal(Errno.OK, mp.Root(out Vnode? root));
        Assert.Equal(Errno.OK, Vop.Mkdir(root!, "huge", 0x1ED, Credentials.Root, out Vnode? dir));
        root!.Release();
        const int n = 10_000;
        long firstCreates = 0, lastCreates = 0;
        for (int i = 0; i < n; i++)
        {
            long work = CacheWork.Of(mp, () =>
            {
                Assert.Equal(Errno.OK, Vop.Create(dir!, $"file-with-a-longish-name-{i:D6}", 0x1A4, Credentials.Root, out Vnode? vp));
                vp!.Release();
            });
            firstCreates += i < 1000 ? work : 0;
            lastCreates += i >= n - 1000 ? work : 0;
        }
        long lookups = CacheWork.Of(mp, () =>
        {
            for (int i = 0; i < n; i += 7)
            {
                Assert.Equal(Errno.OK, Vop.Lookup(dir!, $"file-with-a-longish-name-{i:D6}", Credentials.Root, out Vnode? vp));
                vp!.Release();
            }
        });
        Assert.Equal(Errno.ENOENT, Vop.Lookup(dir!, "absent", Credentials.Root, out _));
        dir!.Release();
        // A scan per create or lookup would read every directory block each time: the last
        // thousand creates would do several times the work of the first, and a lookup would
        // cost as many cache lookups as the directory has blocks.
        Assert.True(lastCreates < firstCreates * 2, $"cache lookups: first 1000 creates {firstCreates}, last 1000 {lastCreates}");
        Assert.True(lookups < 4L * (n / 7 + 1), $"cache lookups for {n / 7 + 1} name lookups: {lookups}");
        Assert.Equal(Errno.OK, mp.Unmount());
        AssertClean(path, "after 10,000 creates");
    }

    [Fact]
    public void SparseWrite_InTripleIndirectRange_ReadsBackAndTruncatesCleanly()
    {
        // 4K UFS1 blocks: 12 direct + 1024 + 1024^2 blocks end below 4.3 GB; 5 GB needs the
        // triple indirect block.
        string path = Fresh("ffs1-empty-4k-f512");
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        Vnode f = Create(mp, "/far");
        const long far = 5_000_000_000;
        Assert.Equal(Errno.OK, Vop.Write(f, far, "tail"u8, out _));
        Assert.Equal(Errno.OK, Vop.Write(f, 100, "head"u8, out _));
        byte[] buf = new byte[8];
        Assert.Equal(Errno.OK, Vop.Read(f, far - 4, buf, out int n));
        Assert.Equal(8, n);
        Assert.Equal(new byte[] { 0, 0, 0, 0, (byte)'t', (byte)'a', (byte)'i', (byte)'l' }, buf);
        Assert.Equal(Errno.OK, Vop.Read(f, 3_000_000_000, buf, out _));
        Assert.All(buf, b => Assert.Equal(0, b));
        f.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
        AssertClean(path, "after the far write");

        mp = FfsTestMount.Open(path, readOnly: false);
        f = FfsTestMount.Resolve(mp, "/far");
        Assert.Equal(Errno.OK, Vop.Read(f, far, buf.AsSpan(0, 4), out _));
        Assert.Equal("tail"u8.ToArray(), buf[..4]);
        Truncate(f, 4_400_000_000);
        Assert.Equal(Errno.OK, Vop.Read(f, far - 4_000, buf, out n));
        Assert.Equal(0, n);
        Truncate(f, 104);
        Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr va));
        Assert.Equal(512, va.BytesUsed);
        Assert.Equal("head"u8.ToArray(), FfsTestMount.ReadAll(f)[100..]);
        f.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
        AssertClean(path, "after truncating back");
    }

    [Theory]
    [MemberData(nameof(Empties))]
    public void ParallelWritersAndRemovers_LeaveConsistentImage(string image)
    {
        string path = Fresh(image);
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        var expected = new System.Collections.Concurrent.ConcurrentDictionary<string, byte[]>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        Thread[] threads = [.. Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            try
            {
                Writer(t);
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        }))];
        void Writer(int t)
        {
            var rng = new Random(t);
            Assert.Equal(Errno.OK, mp.Root(out Vnode? root));
            Assert.Equal(Errno.OK, Vop.Mkdir(root!, $"d{t}", 0x1ED, Credentials.Root, out Vnode? dir));
            root!.Release();
            for (int i = 0; i < 60; i++)
            {
                byte[] data = new byte[rng.Next(0, 150_000)];
                rng.NextBytes(data);
                Assert.Equal(Errno.OK, Vop.Create(dir!, $"f{i}", 0x1A4, Credentials.Root, out Vnode? vp));
                for (int off = 0; off < data.Length; off += 7_000)
                {
                    Assert.Equal(Errno.OK, Vop.Write(vp!, off, data.AsSpan(off, Math.Min(7_000, data.Length - off)), out _));
                }
                vp!.Release();
                expected[$"d{t}/f{i}"] = data;
                if (i % 3 == 2)
                {
                    Assert.Equal(Errno.OK, Vop.Remove(dir!, $"f{i - 1}", Credentials.Root));
                    expected.TryRemove($"d{t}/f{i - 1}", out _);
                }
            }
            dir!.Release();
        }
        foreach (Thread th in threads)
        {
            th.Start();
        }
        foreach (Thread th in threads)
        {
            th.Join();
        }
        Assert.Empty(failures);
        Assert.Equal(Errno.OK, mp.Unmount());
        AssertClean(path, "after parallel writers");
        Mount ro = FfsTestMount.Open(path);
        foreach ((string p, byte[] data) in expected)
        {
            Vnode vp = FfsTestMount.Resolve(ro, "/" + p);
            Assert.True(data.AsSpan().SequenceEqual(FfsTestMount.ReadAll(vp)), p);
            vp.Release();
        }
        Assert.Equal(expected.Count + 4, FfsTestMount.Walk(ro).Count);
        ro.Unmount();
    }

    [Theory]
    [MemberData(nameof(Empties))]
    public void Allocate_Range_AllocatesZeroedBlocksAndGrowsSize(string image)
    {
        string path = Fresh(image);
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        Vnode f = Create(mp, "/pre");
        Assert.Equal(Errno.OK, Vop.Write(f, 0, "abc"u8, out _));
        Assert.Equal(Errno.OK, Vop.Allocate(f, 1_000, 300_000));
        Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr va));
        Assert.Equal(301_000, va.Size);
        Assert.True(va.BytesUsed >= 301_000, $"only {va.BytesUsed} bytes allocated");
        byte[] all = FfsTestMount.ReadAll(f);
        Assert.Equal("abc"u8.ToArray(), all[..3]);
        Assert.All(all[3..], b => Assert.Equal(0, b));
        Assert.Equal(Errno.OK, Vop.Seek(f, 0, SeekWhence.Hole, out long hole));
        Assert.Equal(301_000, hole);
        f.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
        AssertClean(path, "after fallocate");
    }

    [Theory]
    [MemberData(nameof(Empties))]
    public void PunchHole_FreesWholeBlocks_ZeroesTheRest_KeepsTheSizeAndTheLastBlock(string image)
    {
        string path = Fresh(image);
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        Vnode f = Create(mp, "/punched");
        byte[] expected = new byte[3_000_123];
        new Random(8).NextBytes(expected);
        Assert.Equal(Errno.OK, Vop.Write(f, 0, expected, out _));
        Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr before));
        Assert.Equal(Errno.OK, Vop.PunchHole(f, 1000, 2_000_000, Credentials.Root));
        expected.AsSpan(1000, 2_000_000).Clear();
        Assert.Equal(Errno.OK, Vop.GetAttr(f, out VAttr after));
        Assert.Equal(expected.Length, after.Size);
        Assert.True(before.BytesUsed - after.BytesUsed >= 2_000_000 - (2L * 65536), $"{before.BytesUsed} -> {after.BytesUsed} bytes used");
        Assert.True(expected.AsSpan().SequenceEqual(FfsTestMount.ReadAll(f)), "punched file reads back differently");
        Assert.Equal(Errno.OK, Vop.Seek(f, 0, SeekWhence.Hole, out long hole));
        Assert.InRange(hole, 1000, 65536);

        // Everything, and past the end: the block with the last byte keeps its storage.
        Assert.Equal(Errno.EFBIG, Vop.PunchHole(f, long.MaxValue / 2, 4096, Credentials.Root));
        Assert.Equal(Errno.OK, Vop.PunchHole(f, 0, 8 << 20, Credentials.Root));
        Assert.Equal(Errno.OK, Vop.GetAttr(f, out after));
        Assert.Equal(expected.Length, after.Size);
        Assert.InRange(after.BytesUsed, 1, 3 * 65536); // that block and the indirect blocks above it
        Assert.All(FfsTestMount.ReadAll(f), b => Assert.Equal(0, b));
        f.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
        AssertClean(path, "after punching");
    }

    [Fact]
    public void PunchHole_Ufs1_SleuthkitReadsTheSameBytes()
    {
        string path = Fresh("ffs1-empty-64m");
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        Vnode f = Create(mp, "/punched");
        byte[] expected = new byte[5_000_000];
        new Random(9).NextBytes(expected);
        Assert.Equal(Errno.OK, Vop.Write(f, 0, expected, out _));
        Assert.Equal(Errno.OK, Vop.PunchHole(f, 123_457, 4_000_000, Credentials.Root));
        expected.AsSpan(123_457, 4_000_000).Clear();
        f.Release();
        Assert.Equal(Errno.OK, mp.Unmount());
        AssertClean(path, "after punching");
        ToolResult fls = OracleTool.RunExpect(0, "fls", path);
        string line = fls.Stdout.Split('\n').Single(l => l.EndsWith("\tpunched", StringComparison.Ordinal));
        string ino = line.Split('\t')[0].Split(' ')[^1].TrimEnd(':');
        string dump = _scratch.File("punched.icat");
        ToolResult r = OracleTool.Run("bash", "-c", $"icat '{path}' {ino} > '{dump}'");
        Assert.True(r.ExitCode == 0, r.Transcript);
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(dump)), "icat reads the punched file differently");
    }
}
