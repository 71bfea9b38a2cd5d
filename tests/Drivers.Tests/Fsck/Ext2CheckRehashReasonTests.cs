using System.Buffers.Binary;
using System.Text;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckHtreeRebuildImages;
using static RumpFs.Drivers.Tests.Fsck.Ext2CheckImages;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// The other reasons pass 3A rebuilds a directory, as e2fsck schedules them: a name fixed in
/// place ('/' made '.') that then hashes outside its leaf; a renamed duplicate in an indexed
/// directory; a metadata_csum leaf block without a checksum tail and no room for one. Each
/// repair is compared with what e2fsck -fy writes from a copy of the same damaged image, and
/// where e2fsck keeps the index, so must we.
/// </summary>
public sealed class Ext2CheckRehashReasonTests(Ext2CheckHtreeRebuildImages images)
    : IClassFixture<Ext2CheckHtreeRebuildImages>, IDisposable
{
    private const int BlockSize = 1024;

    private readonly ScratchDir _dir = new("ext2ck-rehash-why");

    public void Dispose() => _dir.Dispose();

    private readonly record struct Record(int Offset, uint Ino, string Name);

    /// <summary>The live records of logical block <paramref name="logical"/> of <paramref name="dir"/>, in block order.</summary>
    private static List<Record> Records(string img, string dir, int logical)
    {
        byte[] b = ReadAt(img, Bmap(img, dir, logical) * BlockSize, BlockSize);
        var records = new List<Record>();
        for (int off = 0; off + 8 <= BlockSize;)
        {
            int recLen = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(off + 4));
            uint ino = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(off));
            if (recLen < 8 || off + recLen > BlockSize)
            {
                break;
            }
            if (ino != 0 && b[off + 6] > 0)
            {
                records.Add(new Record(off, ino, Encoding.ASCII.GetString(b, off + 8, b[off + 6])));
            }
            off += recLen;
        }
        return records;
    }

    private static void WriteName(string img, string dir, int logical, Record at, string name) =>
        Patch(img, (Bmap(img, dir, logical) * BlockSize) + at.Offset + 8, Encoding.ASCII.GetBytes(name));

    /// <summary>Our -y on <paramref name="img"/> and e2fsck -fy on <paramref name="theirs"/> give /big the same bytes; ours is returned.</summary>
    private CheckReport RepairBesideE2fsck(string img, string theirs, string dir)
    {
        CheckReport fix = Check(img, repair: true);
        Assert.True(fix.ExitCode == 1, Describe(fix));
        AssertBothClean(img);
        ToolResult e2 = OracleTool.Run("e2fsck", "-fy", theirs);
        Assert.True(e2.ExitCode == 1, e2.Transcript);
        Assert.Equal(DirectoryBytes(theirs, dir, _dir), DirectoryBytes(img, dir, _dir));
        return fix;
    }

    /// <summary>
    /// A '/' put into a name of leaf block 1: e2fsck makes it '.', and clears and rebuilds the
    /// index only when the fixed name hashes outside the leaf. The first name of the leaf that
    /// gives the wanted case (by e2fsck's own transcript) is taken; ours must keep or rebuild
    /// the index with it, to the same bytes.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NameWithSlash_FixedInPlace_IndexRebuiltOnlyWhenTheFixedNameLeavesItsLeaf(bool leaves)
    {
        string clean = _dir.File("clean.img");
        images.CopyTo("ext4", BlockSize, 1, clean);
        string img = _dir.File("img");
        string theirs = _dir.File("theirs.img");
        string? picked = null;
        foreach (Record r in Records(clean, "/big", 1))
        {
            File.Copy(clean, img, overwrite: true);
            string damaged = r.Name[..8] + "/" + r.Name[9..];
            WriteName(img, "/big", 1, r, damaged);
            File.Copy(img, theirs, overwrite: true);
            string probeImg = _dir.File("probe.img");
            File.Copy(img, probeImg, overwrite: true);
            ToolResult probe = OracleTool.Run("e2fsck", "-fy", probeImg);
            if (probe.Transcript.Contains("Clear HTree index", StringComparison.Ordinal) == leaves)
            {
                picked = damaged;
                break;
            }
        }
        Assert.NotNull(picked);
        SortedDictionary<string, uint> names = Names(clean, "/big");

        CheckReport fix = RepairBesideE2fsck(img, theirs, "/big");

        Assert.Contains(fix.Findings, f => f.Repaired && f.Message.Contains($"entry '{picked}' has '/'", StringComparison.Ordinal));
        Assert.Equal(leaves, fix.Findings.Any(f => f.Phase == "rebuild"));
        Assert.Equal(0, IndirectLevels(img, "/big"));
        string fixedName = picked.Replace('/', '.');
        uint ino = names[picked.Replace("/", "n", StringComparison.Ordinal)];
        Assert.Equal(ino, Names(img, "/big")[fixedName]);
        AssertDriverFindsEach(img, "/big", Names(img, "/big"));
    }

    /// <summary>
    /// Two records of one leaf under one name (the later one, of the lower inode, renamed in
    /// place to the earlier's): the duplicate keeps its hash, so the index still reads right,
    /// but e2fsck rebuilds any indexed directory with a duplicate, and renames the lower inode
    /// (here also the later record, the one ours renames) to name~0 within its record.
    /// </summary>
    [Fact]
    public void DuplicateWithinOneLeaf_RenamedAndTheDirectoryRebuilt_AsE2fsck()
    {
        string img = _dir.File("img");
        images.CopyTo("ext4", BlockSize, 1, img);
        List<Record> leaf = Records(img, "/big", 1);
        int later = Enumerable.Range(1, leaf.Count - 1).First(i => leaf[i].Ino < leaf[i - 1].Ino);
        Record first = leaf[later - 1];
        Record second = leaf[later];
        WriteName(img, "/big", 1, second, first.Name);
        string theirs = _dir.File("theirs.img");
        File.Copy(img, theirs);

        CheckReport fix = RepairBesideE2fsck(img, theirs, "/big");

        string renamed = first.Name[..^2] + "~0";
        Assert.Contains(fix.Findings, f => f.Message.Contains($"(inode {second.Ino}) renamed to '{renamed}'", StringComparison.Ordinal));
        Assert.Contains(fix.Findings, f => f.Message.Contains("the lower inode's entry renamed", StringComparison.Ordinal));
        Assert.Contains(fix.Findings, f => f.Phase == "rebuild" && f.Message.StartsWith("directory rebuilt", StringComparison.Ordinal));
        SortedDictionary<string, uint> after = Names(img, "/big");
        Assert.Equal(first.Ino, after[first.Name]);
        Assert.Equal(second.Ino, after[renamed]);
        AssertDriverFindsEach(img, "/big", after);
    }

    /// <summary>
    /// A metadata_csum directory block whose records reach its end, the last one full to its
    /// length (a 255-byte name in a 264-byte record): no tail fits. e2fsck rebuilds the
    /// directory; before, our repair cut the record and sent the file to lost+found.
    /// </summary>
    [Fact]
    public void LeafWithNoRoomForItsTail_DirectoryRebuilt_NothingSentToLostFound()
    {
        string src = _dir.File("src");
        string longName = new('L', 255);
        Directory.CreateDirectory(Path.Combine(src, "d"));
        File.WriteAllText(Path.Combine(src, "d", "a"), "short\n");
        File.WriteAllText(Path.Combine(src, "d", longName), "long\n");
        string img = _dir.File("tail.img");
        OracleTool.RunExpect(0, "mke2fs", [.. new[] { "-q", "-F", "-b", "1024", "-E", "hash_seed=" + HashSeed, "-U", Uuid },
            .. Features("ext4"), "-d", src, img, "4M"]);
        List<Record> records = Records(img, "/d", 0);
        Record a = records.Single(r => r.Name == "a");
        Record l = records.Single(r => r.Name == longName);
        // '.', '..', then "a" up to the last 264 bytes, and the long name in those.
        byte[] block = new byte[BlockSize];
        WriteRecord(block, 0, records.Single(r => r.Name == ".").Ino, 12, ".", 2);
        WriteRecord(block, 12, records.Single(r => r.Name == "..").Ino, 12, "..", 2);
        WriteRecord(block, 24, a.Ino, BlockSize - 24 - 264, "a", 1);
        WriteRecord(block, BlockSize - 264, l.Ino, 264, longName, 1);
        Patch(img, Bmap(img, "/d", 0) * BlockSize, block);
        string theirs = _dir.File("theirs.img");
        File.Copy(img, theirs);

        CheckReport before = AssertBothDamaged(img);
        Assert.Contains(before.Findings, f => f.Message.Contains("no room for one; the directory would be rebuilt", StringComparison.Ordinal));
        CheckReport fix = RepairBesideE2fsck(img, theirs, "/d");

        Assert.DoesNotContain(fix.Findings, f => f.Message.Contains("lost+found", StringComparison.Ordinal));
        Assert.Equal("long\n", DebugfsRead(img, $"cat /d/{longName}"));
        Assert.Equal("short\n", DebugfsRead(img, "cat /d/a"));
    }

    private static void WriteRecord(byte[] b, int off, uint ino, int recLen, string name, byte type)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(off), ino);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(off + 4), (ushort)recLen);
        b[off + 6] = (byte)name.Length;
        b[off + 7] = type;
        Encoding.ASCII.GetBytes(name).CopyTo(b, off + 8);
    }
}
