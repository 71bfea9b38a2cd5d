using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Ext2fs;

/// <summary>
/// The ext4 orphan file (orphan_file, mke2fs -O orphan_file): read-write mounts of images
/// mke2fs made, orphans put into its slots behind debugfs' back and finished by a read-write
/// mount, and damaged orphan blocks refusing the read-write mount with nothing written.
/// </summary>
public sealed partial class Ext2OrphanFileTests
{
    private const uint OrphanIno = 12;

    public static TheoryData<string> Flavours => new() { "csum", "nocsum" };

    /// <summary>16 MiB of 1 KiB blocks: 32 orphan blocks of 254 slots each.</summary>
    private static string MakeImage(ScratchDir scratch, string flavour)
    {
        string path = scratch.File(flavour + ".img");
        string features = flavour == "csum" ? "orphan_file,metadata_csum_seed" : "orphan_file,^metadata_csum";
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-O", features, path, "16M");
        Assert.Contains($"Orphan file inode:        {OrphanIno}\n", Dumpe2fs(path), StringComparison.Ordinal);
        return path;
    }

    private static string Dumpe2fs(string image) => OracleTool.RunExpect(0, "dumpe2fs", "-h", image).Stdout;

    private static string Debugfs(string image, string request) => OracleTool.RunExpect(0, "debugfs", "-R", request, image).Stdout;

    private static void DebugfsWrite(string image, IEnumerable<string> requests)
    {
        ToolResult r = OracleTool.Run("debugfs", ["-w", "-f", "-", image], stdin: string.Join('\n', requests) + "\n");
        Assert.True(r.ExitCode == 0, r.Transcript);
    }

    private static uint Number(string text, Regex pattern) =>
        uint.Parse(pattern.Match(text).Groups[1].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Inode: (\d+)")]
    private static partial Regex InodeLine();

    [GeneratedRegex(@"Generation: (\d+)")]
    private static partial Regex GenerationLine();

    [GeneratedRegex(@"Blockcount: (\d+)")]
    private static partial Regex BlockcountLine();

    /// <summary>The physical block of orphan file block <paramref name="index"/>, as debugfs maps it.</summary>
    private static long OrphanBlock(string image, int index) =>
        long.Parse(Debugfs(image, $"bmap <{OrphanIno}> {index}").Trim(), CultureInfo.InvariantCulture);

    private static byte[] ReadAt(string image, long offset, int count)
    {
        using var f = File.OpenRead(image);
        f.Position = offset;
        byte[] b = new byte[count];
        f.ReadExactly(b);
        return b;
    }

    private static void WriteAt(string image, long offset, byte[] data)
    {
        using var f = File.OpenWrite(image);
        f.Position = offset;
        f.Write(data);
    }

    /// <summary>
    /// Write inode numbers into slots of orphan file block <paramref name="index"/>, the block
    /// checksum made again as the kernel makes it (fs seed, inode 12, its generation, the
    /// block number, the slots), as a kernel that crashed with those files open leaves it.
    /// </summary>
    private static void FillSlots(string image, int index, params (int Slot, uint Ino)[] slots)
    {
        byte[] sb = ReadAt(image, 1024, 1024);
        int bs = 1024 << (int)BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x18));
        bool csum = (BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x64)) & 0x400) != 0;
        uint fsSeed = (BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x60)) & 0x2000) != 0
            ? BinaryPrimitives.ReadUInt32LittleEndian(sb.AsSpan(0x270))
            : Ext2Crc.Crc32c(~0u, sb.AsSpan(0x68, 16));
        uint gen = Number(Debugfs(image, $"stat <{OrphanIno}>"), GenerationLine());
        long blk = OrphanBlock(image, index);
        byte[] block = ReadAt(image, blk * bs, bs);
        foreach ((int slot, uint ino) in slots)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(4 * slot), ino);
        }
        if (csum)
        {
            uint c = Ext2Crc.Crc32c(Ext2Crc.Crc32c(Ext2Crc.Crc32c(fsSeed, OrphanIno), gen), BitConverter.GetBytes((ulong)blk));
            c = Ext2Crc.Crc32c(c, block.AsSpan(0, bs - 8));
            BinaryPrimitives.WriteUInt32LittleEndian(block.AsSpan(bs - 4), c);
        }
        WriteAt(image, blk * bs, block);
    }

    /// <summary>
    /// Three 70,000-byte files: "gone" and "gone2" unlinked with no links left (open when the
    /// system stopped), "keep" linked with its size cut to 1000 (a truncate not finished);
    /// all three in the orphan file (blocks 0 and 5) and orphan_present set. Returns their inodes.
    /// </summary>
    private static (uint Gone, uint Gone2, uint Keep) MakeOrphans(ScratchDir scratch, string image)
    {
        string data = scratch.File("data.bin");
        File.WriteAllBytes(data, [.. Enumerable.Range(0, 70_000).Select(i => (byte)(i * 13 + 1))]);
        DebugfsWrite(image, [$"write {data} gone", $"write {data} gone2", $"write {data} keep", "mkdir stays", $"write {data} stays/file"]);
        uint gone = Number(Debugfs(image, "stat gone"), InodeLine());
        uint gone2 = Number(Debugfs(image, "stat gone2"), InodeLine());
        uint keep = Number(Debugfs(image, "stat keep"), InodeLine());
        DebugfsWrite(image, ["sif gone links_count 0", "sif gone2 links_count 0", "sif keep size 1000", "unlink gone", "unlink gone2",
            "feature orphan_present"]);
        FillSlots(image, 0, (0, gone), (17, keep));
        FillSlots(image, 5, (253, gone2));
        Assert.Contains("orphan_present", Dumpe2fs(image), StringComparison.Ordinal);
        return (gone, gone2, keep);
    }

    private static bool InUse(string image, uint ino) =>
        !Debugfs(image, $"testi <{ino}>").Contains("not in use", StringComparison.Ordinal);

    [Theory]
    [MemberData(nameof(Flavours))]
    public void ReadWriteMount_Mke2fsImage_WritesAndUnlinks_E2fsckClean(string flavour)
    {
        using var scratch = new ScratchDir();
        string image = MakeImage(scratch, flavour);
        byte[] orphanBlock = ReadAt(image, OrphanBlock(image, 0) * 1024, 1024);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            var inodes = new List<ulong>();
            for (int i = 0; i < 40; i++)
            {
                Assert.Equal(Errno.OK, Vop.Create(root!, $"f{i}", 0x1A4, Ext2Fixture.Root, out Vnode? vp));
                byte[] content = new byte[3000 + (i * 1000)];
                new Random(i).NextBytes(content);
                Assert.Equal(Errno.OK, Vop.Write(vp!, 0, content, out _));
                Assert.Equal(Errno.OK, Vop.GetAttr(vp!, out VAttr va));
                inodes.Add(va.Ino);
                vp!.Release();
            }
            Assert.Equal(Errno.OK, Vop.Mkdir(root!, "dir", 0x1ED, Ext2Fixture.Root, out Vnode? dir));
            dir!.Release();
            for (int i = 0; i < 40; i += 2)
            {
                Assert.Equal(Errno.OK, Vop.Remove(root!, $"f{i}", Ext2Fixture.Root));
            }
            Assert.Equal(Errno.ENOENT, Vop.Lookup(root!, "f0", Ext2Fixture.Root, out _));
            root!.Release();
            // The first free inode after lost+found is 12 on a file system without an orphan file.
            Assert.DoesNotContain(OrphanIno, inodes);
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
        Ext2Oracle.AssertFsckClean(image);
        string dump = Dumpe2fs(image);
        Assert.Contains($"Orphan file inode:        {OrphanIno}\n", dump, StringComparison.Ordinal);
        Assert.DoesNotContain("orphan_present", dump, StringComparison.Ordinal);
        Assert.Equal(orphanBlock, ReadAt(image, OrphanBlock(image, 0) * 1024, 1024));
    }

    [Theory]
    [MemberData(nameof(Flavours))]
    public void ReadWriteMount_OrphansInTheOrphanFile_AreFinished(string flavour)
    {
        using var scratch = new ScratchDir();
        string image = MakeImage(scratch, flavour);
        (uint gone, uint gone2, uint keep) = MakeOrphans(scratch, image);
        Assert.True(InUse(image, gone) && InUse(image, gone2));
        Assert.True(Number(Debugfs(image, "stat keep"), BlockcountLine()) > 100);

        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Assert.Equal(Errno.OK, m.Unmount());

        Assert.False(InUse(image, gone), $"inode {gone} (no links, in block 0) was not released");
        Assert.False(InUse(image, gone2), $"inode {gone2} (no links, in block 5) was not released");
        Assert.True(InUse(image, keep));
        // 1000 bytes: one 1 KiB block (two sectors) left.
        Assert.Equal(2u, Number(Debugfs(image, "stat keep"), BlockcountLine()));
        Assert.Equal(keep, Number(Debugfs(image, "stat keep"), InodeLine()));
        foreach (int index in new[] { 0, 5 })
        {
            byte[] block = ReadAt(image, OrphanBlock(image, index) * 1024, 1024);
            Assert.True(block.AsSpan(0, 1016).IndexOfAnyExcept((byte)0) < 0, $"orphan block {index} still has slots in use");
            Assert.Equal(Ext2OrphanBlock.Magic, BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(1016)));
        }
        Assert.DoesNotContain("orphan_present", Dumpe2fs(image), StringComparison.Ordinal);
        // e2fsck checks that every orphan block is empty with a correct checksum.
        Ext2Oracle.AssertFsckClean(image);
    }

    /// <summary>The same unfinished truncate, on the older orphan list (s_last_orphan), is finished too.</summary>
    [Fact]
    public void ReadWriteMount_TruncateOnTheOrphanList_IsFinished()
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("list.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", image, "16M");
        string data = scratch.File("data.bin");
        File.WriteAllBytes(data, [.. Enumerable.Range(0, 70_000).Select(i => (byte)(i * 13 + 1))]);
        DebugfsWrite(image, [$"write {data} keep", "sif keep size 1000"]);
        uint keep = Number(Debugfs(image, "stat keep"), InodeLine());
        DebugfsWrite(image, [$"ssv last_orphan {keep}"]);
        Assert.True(Number(Debugfs(image, "stat keep"), BlockcountLine()) > 100);
        Mount m = Ext2Fixture.MountImage(image, readOnly: false);
        Assert.Equal(Errno.OK, m.Unmount());
        Assert.Equal(2u, Number(Debugfs(image, "stat keep"), BlockcountLine()));
        Ext2Oracle.AssertFsckClean(image);
    }

    [Fact]
    public void ReadOnlyMount_OrphansInTheOrphanFile_ChangesNothing()
    {
        using var scratch = new ScratchDir();
        string image = MakeImage(scratch, "csum");
        MakeOrphans(scratch, image);
        byte[] before = File.ReadAllBytes(image);
        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        Ext2Fixture.Resolve(m, "keep").Release();
        Assert.Equal(Errno.OK, m.Unmount());
        Assert.Equal(before, File.ReadAllBytes(image));
    }

    [Theory]
    [InlineData("magic", true)]
    [InlineData("magic", false)]
    [InlineData("checksum", true)]
    [InlineData("slot", true)]
    public void ReadWriteMount_DamagedOrphanFile_IsRefused_ImageUnchanged_ReadOnlyStillWorks(string damage, bool withOrphans)
    {
        using var scratch = new ScratchDir();
        string image = MakeImage(scratch, "csum");
        if (withOrphans)
        {
            MakeOrphans(scratch, image);
        }
        long at = OrphanBlock(image, 3) * 1024;
        string expected;
        switch (damage)
        {
            case "magic":
                WriteAt(image, at + 1016, [0x05]);
                expected = "orphan file block 3: bad magic";
                break;
            case "checksum":
                WriteAt(image, at + 1020, [(byte)(ReadAt(image, at + 1020, 1)[0] ^ 0x40)]);
                expected = "orphan file block 3: bad checksum";
                break;
            default:
                // Inode 7 (the reserved-GDT inode) can never be an orphan; the checksum is right.
                FillSlots(image, 3, (9, 7));
                expected = "orphan file block 3 slot 9 names inode 7";
                break;
        }
        byte[] before = File.ReadAllBytes(image);

        Errno e = Ext2Fixture.TryMount(image, readOnly: false, null, out Mount? m, out string? msg);
        Assert.Equal(Errno.EUCLEAN, e);
        Assert.Null(m);
        Assert.Contains(expected, msg, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(image));

        Mount ro = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            SortedDictionary<string, VType> tree = Ext2Fixture.ListTree(ro);
            Assert.Contains("lost+found", tree.Keys);
            Assert.Equal(withOrphans, tree.ContainsKey("keep"));
        }
        finally
        {
            Assert.Equal(Errno.OK, ro.Unmount());
        }
        Assert.Equal(before, File.ReadAllBytes(image));
    }

    [Fact]
    public void ReadWriteMount_OrphanPresentWithoutAnOrphanFile_IsRefused()
    {
        using var scratch = new ScratchDir();
        string image = scratch.File("plain.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", image, "16M");
        DebugfsWrite(image, ["feature orphan_present"]);
        byte[] before = File.ReadAllBytes(image);
        Assert.Equal(Errno.EUCLEAN, Ext2Fixture.TryMount(image, readOnly: false, null, out _, out string? msg));
        Assert.Contains("no orphan file", msg, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(image));
    }

    [Fact]
    public void Lookup_OfAnEntryNamingTheOrphanFile_IsEio()
    {
        using var scratch = new ScratchDir();
        string image = MakeImage(scratch, "csum");
        DebugfsWrite(image, [$"ln <{OrphanIno}> sneaky"]);
        Mount m = Ext2Fixture.MountImage(image, readOnly: true);
        try
        {
            Assert.Equal(Errno.OK, m.Root(out Vnode? root));
            Assert.Equal(Errno.EIO, Vop.Lookup(root!, "sneaky", Ext2Fixture.Root, out Vnode? vp));
            root!.Release();
            Assert.Null(vp);
        }
        finally
        {
            Assert.Equal(Errno.OK, m.Unmount());
        }
    }
}
