using RumpFs.Kernel.Devices;
using RumpFs.Tools.Ukfs;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// A fault of ukfs itself is told apart from a user mistake: its own exit status and the
/// whole exception, never a one-line message a script would take for a bad argument.
/// </summary>
public sealed class CliInternalErrorTests
{
    private static (int Exit, string Stderr) Run(Cli.Mounter mounter, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = Cli.Run(args, stdout, stderr, progress: false, new MemoryStream(), mounter);
        return (exit, stderr.ToString());
    }

    [Fact]
    public void CommandOnAMountThatIsGone_ExitsSeventyWithTheStack()
    {
        UkfsMount gone = UkfsMount.Open("tmpfs", (IBlockDevice?)null);
        gone.Dispose();
        (int exit, string stderr) = Run((_, _, _) => (gone, false), "img", "ls", "/");
        Assert.Equal(Cli.InternalErrorExit, exit);
        Assert.StartsWith("ukfs: internal error (please report it): System.ObjectDisposedException", stderr, StringComparison.Ordinal);
        Assert.Contains("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ArgumentOutOfRangeFromInside_IsAnInternalError_AMalformedSelectionIsOneLine()
    {
        (int exit, string stderr) = Run((_, _, _) => throw new ArgumentOutOfRangeException("offset"), "img", "ls", "/");
        Assert.Equal(Cli.InternalErrorExit, exit);
        Assert.Contains("System.ArgumentOutOfRangeException", stderr, StringComparison.Ordinal);

        (exit, stderr) = Run((_, _, _) => throw new InvalidOperationException("unused"), "img%XYZ:1%", "ls", "/");
        Assert.Equal(1, exit);
        Assert.Equal("ukfs: unknown partition table 'XYZ' (expected MBR, GPT or DISKLABEL)\n", stderr);
    }
}
