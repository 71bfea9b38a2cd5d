using System.Globalization;
using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.FsDrivers.Ffs.Check;
using RumpFs.Kernel.Devices;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// The primary superblock against the copy in the last cylinder group, as fsck_ffs's readsb
/// compares them (fuzz round 20 fault 2): one geometry field of the primary changed
/// (fs_sblkno one fragment either way, fs_cssize, fs_bmask) is reported with fsck_ffs's
/// "VALUES IN SUPER BLOCK DISAGREE WITH THOSE IN FIRST ALTERNATE", checked with the copy's
/// values and set back by one -y, without freeing the backups' fragments or clearing a file.
/// A damaged copy next to a sound primary changes nothing.
/// </summary>
public sealed class FfsAlternateSuperblockTests : IDisposable
{
    private readonly ScratchDir _scratch = new("ffs-altsb");

    public void Dispose() => _scratch.Dispose();

    public static TheoryData<string, int, string, int> Cases
    {
        get
        {
            var data = new TheoryData<string, int, string, int>();
            foreach (string maker in new[] { "makefs", "newfs" })
            {
                foreach (int version in new[] { 1, 2 })
                {
                    data.Add(maker, version, "fs_sblkno", 1);
                    data.Add(maker, version, "fs_sblkno", -1);
                    data.Add(maker, version, "fs_cssize", -1);
                    data.Add(maker, version, "fs_cssize", 1);
                    data.Add(maker, version, "fs_bmask", 0x100);
                }
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Check_PrimaryFieldDisagreesWithAlternate_ReportedAndSetBackInOneRun(string maker, int version, string field, int change)
    {
        (FfsDamage img, Dictionary<string, string> files) = Make(maker, version);
        byte[] original = (byte[])img.Bytes.Clone();
        FfsSuperblock sb = img.Sb;
        int offset = Array.Find(FfsSuperblockAlternate.Compared, c => c.Name == field).Offset;
        int right = sb.Order.I32(img.Bytes.AsSpan((int)sb.Location), offset);
        // fs_cssize one byte short or one fragment long (past the summary area, over data);
        // fs_bmask with one bit changed; fs_sblkno one fragment either way.
        int wrong = field switch
        {
            "fs_bmask" => right ^ change,
            "fs_cssize" => change < 0 ? right - 1 : right + sb.Fsize,
            _ => right + change,
        };
        sb.Order.W32(img.Bytes.AsSpan((int)sb.Location), offset, wrong);

        FfsCheckReport found = FfsCheck.Run(new MemoryBlockDevice((byte[])img.Bytes.Clone(), readOnly: true));
        Assert.Null(found.Unusable);
        FfsFinding only = Assert.Single(found.Findings);
        Assert.Equal(FfsFindingKind.Superblock, only.Kind);
        Assert.StartsWith(FfsSuperblockAlternate.Disagree, only.Message, StringComparison.Ordinal);
        string shown = field == "fs_bmask" ? $"0x{wrong:x8}" : wrong.ToString(CultureInfo.InvariantCulture);
        Assert.Contains($"{field} {shown}, alternate", only.Message, StringComparison.Ordinal);

        (CheckReport n, CheckReport y) = FfsOneRunRepair.Run(img);
        Assert.Contains(n.Findings, f => f.Message.StartsWith(FfsSuperblockAlternate.Disagree, StringComparison.Ordinal));
        Assert.Contains(y.Findings, f => f.Message.StartsWith(FfsSuperblockAlternate.Disagree, StringComparison.Ordinal) && f.Repaired);
        Assert.Equal(right, sb.Order.I32(img.Bytes.AsSpan((int)sb.Location), offset));
        Assert.Single(y.Findings, f => f.Severity == CheckSeverity.Error);

        // Every group's backup copy is where it was, byte for byte, and still in use.
        for (int cg = 1; cg < sb.Ncg; cg++)
        {
            int at = (int)sb.FragToBytes(sb.CgStart(cg) + sb.Sblkno);
            Assert.True(original.AsSpan(at, sb.SbSize).SequenceEqual(img.Bytes.AsSpan(at, sb.SbSize)), $"group {cg}'s superblock copy changed");
        }
        Dictionary<string, string> tree = FfsRepairTests.Tree(img.Bytes);
        foreach ((string path, string sha) in files)
        {
            Assert.True(tree.TryGetValue(path, out string? sig), $"{path} lost");
            Assert.Contains("file:" + sha, sig, StringComparison.Ordinal);
        }
    }

    public static TheoryData<string, int, string> DamagedCopies
    {
        get
        {
            var data = new TheoryData<string, int, string>();
            foreach (string maker in new[] { "makefs", "newfs" })
            {
                foreach (int version in new[] { 1, 2 })
                {
                    foreach (string how in new[] { "magic", "cssize", "sblkno", "zeroed" })
                    {
                        data.Add(maker, version, how);
                    }
                }
            }
            return data;
        }
    }

    /// <summary>
    /// The last group's copy damaged (no magic, a geometry field changed, its own fs_sblkno
    /// off, all zeros) and the primary sound: clean, and -y writes nothing.
    /// </summary>
    [Theory]
    [MemberData(nameof(DamagedCopies))]
    public void Check_DamagedAlternateSoundPrimary_CleanNothingWritten(string maker, int version, string how)
    {
        (FfsDamage img, _) = Make(maker, version);
        FfsSuperblock sb = img.Sb;
        int at = (int)sb.FragToBytes(sb.CgStart(sb.Ncg - 1) + sb.Sblkno);
        Span<byte> copy = img.Bytes.AsSpan(at, sb.SbSize);
        Assert.Equal(sb.Magic, sb.Order.I32(copy, SuperblockFields.Magic));
        switch (how)
        {
            case "magic":
                sb.Order.W32(copy, SuperblockFields.Magic, 0x12345678);
                break;
            case "cssize":
                sb.Order.W32(copy, SuperblockFields.CsSize, sb.CsSize + sb.Fsize);
                break;
            case "sblkno":
                sb.Order.W32(copy, SuperblockFields.Sblkno, sb.Sblkno + sb.Frag);
                break;
            default:
                copy.Clear();
                break;
        }
        byte[] damaged = (byte[])img.Bytes.Clone();

        FfsCheckReport found = FfsCheck.Run(new MemoryBlockDevice(img.Bytes, readOnly: true));
        Assert.True(found.IsClean, found.ToString());
        var checker = new FfsChecker();
        CheckReport n = checker.Check(new MemoryBlockDevice(img.Bytes, readOnly: true), repair: false);
        Assert.True(n.ExitCode == 0, FfsRepairTests.Describe(n));
        CheckReport y = checker.Check(img.Device, repair: true);
        Assert.True(y.ExitCode == 0, FfsRepairTests.Describe(y));
        Assert.True(damaged.AsSpan().SequenceEqual(img.Bytes), "-y wrote to a consistent image");
    }

    /// <summary>A makefs image with files in several groups, or one of our newfs with the tree written through the driver; with its files' hashes.</summary>
    private (FfsDamage Img, Dictionary<string, string> Files) Make(string maker, int version)
    {
        if (maker == "makefs")
        {
            return (FfsSmallImages.Damage(_scratch, FfsCgHeaderImages.Image(version)), FfsCgHeaderImages.SourceFiles(version));
        }
        string path = FfsNewfsTree.Newfs(_scratch.File("newfs.img"), 24L << 20,
            ("version", version.ToString(CultureInfo.InvariantCulture)), ("bsize", "8192"), ("fsize", "1024"));
        var tree = new FfsNewfsTree();
        Mount mp = FfsTestMount.Open(path, readOnly: false);
        tree.Write(mp, 8192, 1024);
        Assert.Equal(Kernel.Errno.OK, mp.Unmount());
        var img = new FfsDamage(path);
        Assert.True(img.Sb.Ncg >= 3, $"{img.Sb.Ncg} groups");
        return (img, tree.Files.ToDictionary(f => f.Key[1..], f => FfsTestMount.Sha256(f.Value), StringComparer.Ordinal));
    }
}
