using System.Buffers.Binary;
using System.Globalization;
using RumpFs.P2k.Tests.Support;
using RumpFs.TestSupport;

namespace RumpFs.P2k.Tests;

/// <summary>
/// rump_ext2fs -o usrquota enforces the user quota's hard limit through the kernel: a user
/// writing into a root-owned file (charged to uid 0) gets "Disk quota exceeded" once the
/// limit is reached; root writes on. Without the option the same write passes.
/// </summary>
public sealed class QuotaLimitDaemonTests : IDisposable
{
    private const int RecordSize = 72, DataHeader = 16, QuotaBlock = 1024;
    private readonly ScratchDir _images = new("p2k-quota-limits");

    public void Dispose() => _images.Dispose();

    /// <summary>
    /// Give uid 0 a space hard limit of <paramref name="kib"/> KiB in the user quota file
    /// (inode 3) of a 1 KiB-block image, patching its record in place: the tree that
    /// mke2fs writes leads by index 0 at every level to the one data block holding id 0.
    /// </summary>
    private static void LimitRoot(string img, ulong kib)
    {
        string dump = img + ".quota";
        OracleTool.RunExpect(0, "debugfs", "-R", $"dump <3> {dump}", img);
        byte[] file = File.ReadAllBytes(dump);
        int block = 1;
        for (int level = 0; level < 4; level++)
        {
            block = (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(block * QuotaBlock));
        }
        byte[] data = file.AsSpan(block * QuotaBlock, QuotaBlock).ToArray();
        int at = Enumerable.Range(0, (QuotaBlock - DataHeader) / RecordSize)
            .Select(i => DataHeader + (i * RecordSize))
            .First(o => data.AsSpan(o, RecordSize).ContainsAnyExcept((byte)0) && BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(o)) == 0);
        BinaryPrimitives.WriteUInt64LittleEndian(data.AsSpan(at + 32), kib); // dqb_bhardlimit
        long physical = long.Parse(OracleTool.RunExpect(0, "debugfs", "-R", $"bmap <3> {block}", img).Stdout.Trim(), CultureInfo.InvariantCulture);
        using var f = new FileStream(img, FileMode.Open, FileAccess.Write);
        f.Position = physical * QuotaBlock;
        f.Write(data);
    }

    private static string Serve(string image, string options)
    {
        const string Script = """
            cd "$1"
            touch f && chmod 666 f
            setpriv --reuid=1000 --regid=1000 --clear-groups dd if=/dev/zero of=f bs=1k count=200 conv=notrunc 2>&1 | grep -o 'Disk quota exceeded' | head -1
            echo "user: $(stat -c %s f)"
            dd if=/dev/zero of=f bs=1k count=20 seek=200 conv=notrunc 2>/dev/null && echo "root: $(stat -c %s f)"
            """;
        using RumpDaemon d = RumpDaemon.Start("rump_ext2fs", ["-o", options, image]);
        string output = OracleTool.Run("bash", "-c", Script, "bash", d.MountPoint).Stdout;
        Assert.Equal(0, d.UnmountFromOutside());
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Equal(0, d.Process.ExitCode);
        return output;
    }

    [Fact]
    public void Usrquota_HardLimit_DiskQuotaExceededForTheUser_RootPasses()
    {
        string image = _images.File("limited.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-I", "256", "-O", "quota", image, "16M");
        LimitRoot(image, 64);
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
        string copy = _images.File("unlimited.img");
        File.Copy(image, copy);

        string limited = Serve(image, "usrquota,allow_other");
        Assert.StartsWith("Disk quota exceeded\nuser: ", limited, StringComparison.Ordinal);
        long userBytes = long.Parse(limited.Split("user: ")[1].Split('\n')[0], CultureInfo.InvariantCulture);
        Assert.InRange(userBytes, 30 * 1024, 52 * 1024); // 64 KiB less the root directory's and lost+found's 13 KiB
        Assert.EndsWith("root: 225280\n", limited, StringComparison.Ordinal);
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);

        Assert.Equal("user: 204800\nroot: 225280\n", Serve(copy, "allow_other")); // accounting only
        OracleTool.RunExpect(0, "e2fsck", "-fn", copy);
    }
}
