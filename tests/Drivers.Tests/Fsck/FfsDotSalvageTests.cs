using RumpFs.Drivers.Tests.Ffs;
using RumpFs.FsDrivers.Ffs;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Drivers.Tests.Fsck;

/// <summary>
/// A "." or ".." record that fsck_ffs's dircheck refuses (a NUL or '/' in the name, an empty
/// name, a record too short for its name): the chunk is salvaged and "." and ".." are made
/// in the same run, as fsck_ffs asks MISSING '.' / MISSING '..' FIX? right after its salvage
/// (fuzz round 20 fault 6). Before, the first -y salvaged the chunk, left "first entry is not
/// '.'" (exit 4) and a second -y made the entries.
/// </summary>
public sealed class FfsDotSalvageTests
{
    public enum Damage
    {
        DotNameNul,
        DotRecLenShort,
        DotNameEmpty,
        DotDotRecLenShort,
        DotDotNameSlash,
    }

    [Theory]
    [InlineData(1, Damage.DotNameNul)]
    [InlineData(1, Damage.DotRecLenShort)]
    [InlineData(1, Damage.DotNameEmpty)]
    [InlineData(1, Damage.DotDotRecLenShort)]
    [InlineData(1, Damage.DotDotNameSlash)]
    [InlineData(2, Damage.DotNameNul)]
    [InlineData(2, Damage.DotDotRecLenShort)]
    public void Repair_SubdirectoryDotRecordBad_DotsMadeInOneRun(int version, Damage damage)
    {
        using var dir = new ScratchDir("ffsdotsalvage");
        FfsDamage img = FfsSmallImages.Damage(dir, FfsSmallImages.Image(version));
        ulong d = img.Ino("/d");
        ulong x = img.Ino("/d/x");
        Apply(img, d, damage);

        (CheckReport found, CheckReport y) = FfsOneRunRepair.Run(img);
        Assert.Contains(found.Findings, f => f.Message.StartsWith("bad entry at offset", StringComparison.Ordinal));
        Assert.DoesNotContain(y.Findings, f => f.Message.StartsWith("not repaired", StringComparison.Ordinal));

        List<(string Name, ulong Ino)> entries = img.Entries(d);
        Assert.Equal((".", d), entries[0]);
        Assert.Equal(("..", (ulong)FfsSuperblock.RootIno), entries[1]);
        Dictionary<string, string> tree = FfsRepairTests.Tree(img.Bytes);
        Assert.StartsWith("2 dir", tree["d"], StringComparison.Ordinal);
        // x was named in the salvaged part of the chunk; fsck_ffs loses the name the same way.
        Assert.Contains("file:" + FfsSmallImages.SourceFiles(version)["d/x"], tree[$"lost+found/#{x}"], StringComparison.Ordinal);
        foreach ((string path, string sha) in FfsSmallImages.SourceFiles(version).Where(p => p.Key != "d/x"))
        {
            Assert.True(tree.TryGetValue(path, out string? sig), $"{path} lost");
            Assert.Contains("file:" + sha, sig, StringComparison.Ordinal);
        }
        if (version == 1)
        {
            HashSet<string> fls = FfsOneRunRepair.SleuthkitPaths(img.Bytes);
            Assert.Contains($"lost+found/#{x}", fls);
            Assert.Contains("fragtail", fls);
        }
    }

    /// <summary>
    /// The same on the root (fuzz round 20 fault 9): "." and ".." come back in the root's
    /// first record before pass 3 makes lost+found, which goes after them. Before, lost+found
    /// took the salvaged first record (offset 0) and no later run could put "." back.
    /// </summary>
    [Theory]
    [InlineData(1, Damage.DotNameNul)]
    [InlineData(1, Damage.DotRecLenShort)]
    [InlineData(1, Damage.DotDotRecLenShort)]
    [InlineData(2, Damage.DotNameNul)]
    [InlineData(2, Damage.DotNameEmpty)]
    public void Repair_RootDotRecordBad_DotsBeforeLostFoundInOneRun(int version, Damage damage)
    {
        using var dir = new ScratchDir("ffsrootdot");
        FfsDamage img = FfsSmallImages.Damage(dir, FfsSmallImages.Image(version));
        const ulong root = FfsSuperblock.RootIno;
        // Every top-level name sits in the root's first chunk, which the salvage frees.
        Dictionary<string, ulong> top = img.Entries(root).Where(e => e.Name is not ("." or "..")).ToDictionary(e => e.Name, e => e.Ino);
        Apply(img, root, damage);

        (CheckReport found, _) = FfsOneRunRepair.Run(img);
        Assert.Contains(found.Findings, f => f.Message.StartsWith("bad entry at offset", StringComparison.Ordinal));

        List<(string Name, ulong Ino)> entries = img.Entries(root);
        Assert.Equal((".", root), entries[0]);
        Assert.Equal(("..", root), entries[1]);
        Assert.Equal("lost+found", entries[2].Name);
        Dictionary<string, string> tree = FfsRepairTests.Tree(img.Bytes);
        HashSet<string> fls = version == 1 ? FfsOneRunRepair.SleuthkitPaths(img.Bytes) : [];
        foreach ((string path, string sha) in FfsSmallImages.SourceFiles(version))
        {
            string first = path.Split('/')[0];
            string moved = $"lost+found/#{top[first]}" + path[first.Length..];
            Assert.True(tree.TryGetValue(moved, out string? sig), $"{path} not at {moved}");
            Assert.Contains("file:" + sha, sig, StringComparison.Ordinal);
            if (version == 1)
            {
                Assert.Contains(moved, fls);
            }
        }
    }

    /// <summary>Damage the "." or ".." record of directory <paramref name="dir"/>.</summary>
    internal static void Apply(FfsDamage img, ulong dir, Damage damage)
    {
        switch (damage)
        {
            case Damage.DotNameNul:
                img.WithEntry(dir, ".", (b, off, _) => b[off + DirectEntry.Name] = 0);
                break;
            case Damage.DotRecLenShort:
                img.SetEntryRecLen(dir, ".", DirectEntry.HeaderSize);
                break;
            case Damage.DotNameEmpty:
                img.WithEntry(dir, ".", (b, off, _) => b[off + DirectEntry.NamLen] = 0);
                break;
            case Damage.DotDotRecLenShort:
                img.SetEntryRecLen(dir, "..", DirectEntry.HeaderSize);
                break;
            case Damage.DotDotNameSlash:
                img.WithEntry(dir, "..", (b, off, _) => b[off + DirectEntry.Name + 1] = (byte)'/');
                break;
        }
    }
}
