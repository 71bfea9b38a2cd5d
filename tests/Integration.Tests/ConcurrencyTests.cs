using RumpFs.TestSupport;

namespace RumpFs.Integration.Tests;

/// <summary>
/// Several processes in one mount at once for a bounded time: parallel untar, writers to
/// different files, readers during writes, renames across directories. Afterwards the data
/// matches and, for disk formats, the independent checker finds the image clean.
/// </summary>
public class ConcurrencyTests
{
    [Theory, MemberData(nameof(MountedTargets.Names), MemberType = typeof(MountedTargets))]
    public void ParallelProcesses_LeaveMatchingDataAndACleanImage(string target)
    {
        MountedTarget t = MountedTargets.Get(target);
        using var scratch = new ScratchDir("rumpfs-conc");
        string source = scratch.File("src");
        MakeSourceTree(source, t.Dev.Symlinks);
        string tarball = scratch.File("src.tar");
        OracleTool.RunExpect(0, "tar", "-C", source, "-cf", tarball, ".");

        using FuseMount m = t.Mount(scratch, out string? image);
        string mnt = m.MountPoint;
        string script = $$"""
            set -e
            M='{{mnt}}'
            for n in 1 2 3; do mkdir -p "$M/untar$n"; (tar -C "$M/untar$n" -xf '{{tarball}}' --no-same-owner --no-same-permissions -m) & done
            for n in 1 2; do (mkdir -p "$M/w$n"; for i in $(seq 1 60); do yes "writer $n line $i" | head -c $((i * 1000)) > "$M/w$n/f$i"; done) & done
            (for i in $(seq 1 200); do cat "$M"/w1/* > /dev/null 2>&1 || true; done) &
            (mkdir -p "$M/ra" "$M/rb"; for i in $(seq 1 40); do echo "r$i" > "$M/ra/r$i"; done;
             for round in 1 2 3; do for i in $(seq 1 40); do mv "$M/ra/r$i" "$M/rb/r$i"; done; for i in $(seq 1 40); do mv "$M/rb/r$i" "$M/ra/r$i"; done; done) &
            wait
            """;
        // Background jobs' failures do not fail `wait`: the checks below find what is missing.
        ToolResult run = OracleTool.Run("bash", ["-c", script], timeout: TimeSpan.FromMinutes(5));
        Assert.True(run.ExitCode == 0, run.Transcript + "\n" + m.Log);

        for (int n = 1; n <= 3; n++)
        {
            ToolResult diff = OracleTool.Run("diff", "-r", "--no-dereference", source, Path.Combine(mnt, $"untar{n}"));
            Assert.True(diff.ExitCode == 0, diff.Transcript);
        }
        for (int n = 1; n <= 2; n++)
        {
            for (int i = 1; i <= 60; i++)
            {
                byte[] data = File.ReadAllBytes(Path.Combine(mnt, $"w{n}", $"f{i}"));
                Assert.Equal(i * 1000, data.Length);
                Assert.StartsWith($"writer {n} line {i}\n", System.Text.Encoding.ASCII.GetString(data, 0, 40), StringComparison.Ordinal);
            }
        }
        Assert.Equal(40, Directory.GetFiles(Path.Combine(mnt, "ra")).Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(mnt, "rb")));

        Assert.Equal(0, m.Unmount());
        if (image is not null && t.CheckImage is not null)
        {
            ToolResult check = t.CheckImage(image);
            Assert.True(check.ExitCode == 0, check.Transcript);
        }
    }

    private static void MakeSourceTree(string root, bool symlinks)
    {
        var rng = new Random(11);
        for (int d = 0; d < 6; d++)
        {
            string dir = Path.Combine(root, $"dir{d}", $"sub{d % 3}");
            Directory.CreateDirectory(dir);
            for (int f = 0; f < 25; f++)
            {
                byte[] data = new byte[rng.Next(0, 40_000)];
                rng.NextBytes(data);
                File.WriteAllBytes(Path.Combine(dir, $"file{f}.bin"), data);
            }
        }
        if (symlinks)
        {
            File.CreateSymbolicLink(Path.Combine(root, "link"), "dir0/sub0/file0.bin");
        }
    }
}
