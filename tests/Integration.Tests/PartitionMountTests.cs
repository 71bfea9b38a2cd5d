using RumpFs.TestSupport;

namespace RumpFs.Integration.Tests;

/// <summary>The daemons take the rump partition syntax: image%MBR:N%, image%GPT:N%.</summary>
public class PartitionMountTests
{
    [Theory]
    [InlineData("dos", "MBR")]
    [InlineData("gpt", "GPT")]
    public void Ext2InSecondPartition_MountsWritesAndStaysInsideIt(string label, string scheme)
    {
        using var scratch = new ScratchDir("rumpfs-part");
        string disk = scratch.File("disk.img");
        const long Mib = 1 << 20;
        using (var f = new FileStream(disk, FileMode.CreateNew))
        {
            f.SetLength(80 * Mib);
        }
        ToolResult table = OracleTool.Run("sfdisk", [disk], stdin: $"label: {label}\nstart=2048, size=40960\nstart=43008, size=81920\n");
        Assert.True(table.ExitCode == 0, table.Transcript);

        // The file system is made separately and copied to the second partition's offset.
        string fs = scratch.File("fs.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", fs, "40M");
        byte[] image = File.ReadAllBytes(fs);
        using (var f = new FileStream(disk, FileMode.Open))
        {
            f.Position = 43008L * 512;
            f.Write(image);
        }
        byte[] before = File.ReadAllBytes(disk);

        using (FuseMount m = FuseMount.Start("rump_ext2fs", scratch.File("mnt"), $"{disk}%{scheme}:2%"))
        {
            File.WriteAllText(m.Path("hello.txt"), "inside the partition");
            Assert.Equal("inside the partition", File.ReadAllText(m.Path("hello.txt")));
            Assert.Equal(0, m.Unmount());
        }

        byte[] after = File.ReadAllBytes(disk);
        long start = 43008L * 512, end = start + (81920L * 512);
        for (long i = 0; i < after.Length; i++)
        {
            if ((i < start || i >= end) && after[i] != before[i])
            {
                Assert.Fail($"byte {i} outside the partition changed");
            }
        }
        File.WriteAllBytes(fs, after[(int)start..(int)(start + image.Length)]);
        ToolResult check = OracleTool.Run("e2fsck", "-fn", fs);
        Assert.True(check.ExitCode == 0, check.Transcript);
        ToolResult cat = OracleTool.Run("debugfs", "-R", "cat /hello.txt", fs);
        Assert.Contains("inside the partition", cat.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingPartition_IsOneLineAndExitOne()
    {
        using var scratch = new ScratchDir("rumpfs-part");
        string disk = scratch.File("plain.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", disk, "8M");
        Directory.CreateDirectory(scratch.File("mnt"));
        ToolResult r = OracleTool.Run("dotnet", FuseMount.ToolDll("rump_ext2fs"), $"{disk}%MBR:3%", scratch.File("mnt"));
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Contains("MBR", r.Stderr, StringComparison.Ordinal);
        Assert.False(FuseMount.IsMounted(scratch.File("mnt")));
    }
}
