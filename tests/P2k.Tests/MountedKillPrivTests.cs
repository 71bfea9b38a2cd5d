using RumpFs.P2k.Tests.Support;
using Tmds.Linux;

namespace RumpFs.P2k.Tests;

/// <summary>
/// setuid/setgid removal through the kernel, as Linux does it on its own file systems: a
/// write, a truncate or an O_TRUNC open by a caller without CAP_FSETID drops setuid, and
/// setgid when the file is group-executable; root keeps them; chown drops them for anyone.
/// </summary>
public sealed class MountedKillPrivTests(TmpfsMountFixture mount) : IClassFixture<TmpfsMountFixture>
{
    private const uint SetUid = 0x800, SetGid = 0x400;

    private string OpenFile(uint mode)
    {
        string d = mount.NewDir();
        File.SetUnixFileMode(d, (UnixFileMode)0x1FF);
        string f = Path.Combine(d, "f");
        File.WriteAllText(f, "0123456789");
        Assert.Equal(0, Sys.Chmod(f, mode));
        return f;
    }

    private static uint Mode(string f)
    {
        Assert.Equal(0, Sys.Stat(f, out stat st));
        return (uint)st.st_mode & 0xFFF;
    }

    [Fact]
    public void Write_ByOtherUser_DropsSetuidAndGroupExecutableSetgid()
    {
        string f = OpenFile(0xDFF); // 06777
        Assert.Equal(0, AsNobody.Run("sh", "-c", $"printf x >> '{f}'").ExitCode);
        Assert.Equal(0x1FFu, Mode(f));
        Assert.Equal("0123456789x", File.ReadAllText(f));
    }

    [Fact]
    public void Write_ByOtherUser_KeepsSetgidWithoutGroupExecute()
    {
        string f = OpenFile(0x5B6 | SetUid); // 06666
        Assert.Equal(0, AsNobody.Run("sh", "-c", $"printf x >> '{f}'").ExitCode);
        Assert.Equal(0x5B6u, Mode(f)); // 02666: setuid gone, setgid (no g+x) kept
    }

    [Fact]
    public void Write_ByRoot_KeepsBothBits()
    {
        string f = OpenFile(0xDFF);
        File.AppendAllText(f, "x");
        Assert.Equal(0xDFFu, Mode(f));
    }

    [Fact]
    public void Truncate_ByOtherUser_DropsBothBits()
    {
        string f = OpenFile(0xDFF);
        Assert.Equal(0, AsNobody.Run("truncate", "-s", "3", f).ExitCode);
        Assert.Equal(0x1FFu, Mode(f));
        Assert.Equal("012", File.ReadAllText(f));
    }

    [Fact]
    public void OpenWithTrunc_ByOtherUser_DropsBothBits()
    {
        string f = OpenFile(0xDFF);
        Assert.Equal(0, AsNobody.Run("sh", "-c", $": > '{f}'").ExitCode);
        Assert.Equal(0x1FFu, Mode(f));
        Assert.Equal(0L, new FileInfo(f).Length);
    }

    [Fact]
    public void Chown_ByRoot_DropsBothBits_EvenToTheSameOwner()
    {
        string f = OpenFile(0xDFF);
        Assert.Equal(0, Sys.Chown(f, 0, 0));
        Assert.Equal(0x1FFu, Mode(f));
        Assert.Equal(0, Sys.Chmod(f, 0xDFF));
        Assert.Equal(0, Sys.Chown(f, 1234, 1234));
        Assert.Equal(0x1FFu, Mode(f));
    }

    [Fact]
    public void Chmod_AfterWrite_ByRoot_SetuidStays()
    {
        string f = OpenFile(0x1FF);
        File.AppendAllText(f, "x");
        Assert.Equal(0, Sys.Chmod(f, 0xDFF | SetGid));
        Assert.Equal(0xDFFu, Mode(f));
    }
}
