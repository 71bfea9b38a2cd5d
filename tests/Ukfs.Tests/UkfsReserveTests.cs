using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;

namespace RumpFs.Ukfs.Tests;

/// <summary>A Ukfs mount acting as a user other than root is held to the root reserve.</summary>
public sealed class UkfsReserveTests : IDisposable
{
    private readonly ScratchDir _scratch = new("ukfs-reserve");

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public void WriteAsUser_StopsWithEnospcAtMinfree_RootWritesOn()
    {
        string tree = _scratch.File("tree");
        Directory.CreateDirectory(tree);
        string image = _scratch.File("ufs2.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", "version=2,minfree=15", "-s", "4m", image, tree);
        using UkfsMount fs = UkfsMount.Open("ffs", image);
        fs.Mkdir("/u");
        fs.Chmod("/u", 0x1FF);
        fs.Credentials = new Credentials(1000, 1000);
        byte[] chunk = new byte[32 * 1024];
        using (UkfsFileStream s = fs.Open("/u/f", FileMode.CreateNew, FileAccess.Write))
        {
            UkfsException full = Assert.Throws<UkfsException>(() =>
            {
                for (int i = 0; i < 1000; i++)
                {
                    s.Write(chunk);
                }
            });
            Assert.Equal(Errno.ENOSPC, full.Errno);
        }
        StatVfs st = fs.Statvfs();
        Assert.True(st.BlocksAvailable < st.BlocksFree, $"bavail {st.BlocksAvailable} bfree {st.BlocksFree}");
        Assert.True(st.BlocksFree >= st.Blocks * 15 / 100, $"bfree {st.BlocksFree} of {st.Blocks}");
        long userSize = fs.Stat("/u/f").Size;

        fs.Credentials = Credentials.Root;
        using (UkfsFileStream s = fs.Open("/u/f", FileMode.Append))
        {
            s.Write(chunk);
        }
        Assert.Equal(userSize + chunk.Length, fs.Stat("/u/f").Size);
    }
}
