using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>`ukfs mv` on FAT changes only the case of a name, as Linux's vfat does; mtools sees the new spelling.</summary>
public sealed class CliFatRenameTests : IDisposable
{
    private readonly CliHarness _cli = CliHarness.OnImages();
    private readonly ScratchDir _dir = new("ukfs-fatmv");

    public void Dispose()
    {
        _cli.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Mv_ChangingOnlyCase_StoresTheNewSpelling()
    {
        string img = DiskBuilder.FatImage(_dir, "fat.img", 65536, 16, "README.TXT", "text");
        _cli.Ok(img, "mv", "/README.TXT", "/ReadMe.txt");
        Assert.Equal("ReadMe.txt\n", _cli.Ok(img, "ls", "/").Stdout);
        Assert.Equal("text", OracleTool.RunExpect(0, "mtype", "-i", img, "::/ReadMe.txt").Stdout);
        Assert.Contains("ReadMe.txt", OracleTool.RunExpect(0, "mdir", "-i", img, "::/").Stdout, StringComparison.Ordinal);
        OracleTool.RunExpect(0, "fsck.fat", "-n", img);
    }
}
