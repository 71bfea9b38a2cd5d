using System.Buffers.Binary;
using RumpFs.P2k.Tests.Support;
using RumpFs.TestSupport;

namespace RumpFs.P2k.Tests;

/// <summary>
/// The disk daemons share the command line: an image made by the format's own tools is
/// served, changed through the kernel, and left clean for that format's checker.
/// </summary>
public sealed class DiskImageDaemonTests : IDisposable
{
    private readonly ScratchDir _images = new("p2k-images");

    [Fact]
    public void RumpExt2fs_ServesAnMke2fsImage_AndLeavesItCleanForE2fsck()
    {
        string tree = _images.File("tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "hello"), "from mke2fs\n");
        string image = _images.File("ext2.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-d", tree, image, "8M");
        using (RumpDaemon d = RumpDaemon.Start("rump_ext2fs", [image]))
        {
            Assert.Equal("from mke2fs\n", File.ReadAllText(d.Path("hello")));
            Directory.CreateDirectory(d.Path("dir"));
            File.WriteAllText(d.Path("dir/new"), "through the kernel");
            Assert.Equal(0, d.UnmountFromOutside());
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, d.Process.ExitCode);
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
        Assert.Equal("through the kernel", OracleTool.RunExpect(0, "debugfs", "-R", "cat /dir/new", image).Stdout);
    }

    /// <summary>ext4 with an orphan file (a default of mke2fs 1.47): served read-write, a file unlinked while open included.</summary>
    [Fact]
    public void RumpExt2fs_ServesAnOrphanFileImage_AndLeavesItCleanForE2fsck()
    {
        string tree = _images.File("otree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "hello"), "from mke2fs\n");
        string image = _images.File("orphan.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-O", "orphan_file,metadata_csum_seed", "-d", tree, image, "16M");
        using (RumpDaemon d = RumpDaemon.Start("rump_ext2fs", [image]))
        {
            Assert.Equal("from mke2fs\n", File.ReadAllText(d.Path("hello")));
            File.WriteAllBytes(d.Path("kept"), new byte[200_000]);
            using (var open = new FileStream(d.Path("open-then-gone"), FileMode.Create))
            {
                open.Write(new byte[100_000]);
                File.Delete(d.Path("open-then-gone"));
                open.Write(new byte[100_000]);
            }
            Assert.Equal(0, d.UnmountFromOutside());
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, d.Process.ExitCode);
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
        string dump = OracleTool.RunExpect(0, "dumpe2fs", "-h", image).Stdout;
        Assert.Contains("Orphan file inode:        12", dump, StringComparison.Ordinal);
        Assert.DoesNotContain("orphan_present", dump, StringComparison.Ordinal);
    }

    [Fact]
    public void RumpExt2fs_NamesThatAreNotUtf8_PassThroughByteForByte()
    {
        string tree = _images.File("latin1");
        OracleTool.RunExpect(0, "bash", "-c", "mkdir -p \"$1\" && printf 'latin one' > \"$1/$(printf 'caf\\351')\"", "bash", tree);
        string image = _images.File("latin1.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, image, "8M");
        const string Script = """
            set -e
            cd "$1"
            ls | LC_ALL=C grep -cx "$(printf 'caf\351')"
            cat "$(printf 'caf\351')"; echo
            printf 'made here' > "$(printf 'new\376\377')"
            mv "$(printf 'caf\351')" "$(printf 're\351named')"
            ls | LC_ALL=C grep -cx "$(printf 'new\376\377')"
            """;
        using (RumpDaemon d = RumpDaemon.Start("rump_ext2fs", [image]))
        {
            Assert.Equal("1\nlatin one\n1\n", OracleTool.RunExpect(0, "bash", "-c", Script, "bash", d.MountPoint).Stdout);
            Assert.Equal(0, d.UnmountFromOutside());
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, d.Process.ExitCode);
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
        const string Check = """
            debugfs -R "cat /$(printf 'new\376\377')" "$1"
            debugfs -R "cat /$(printf 're\351named')" "$1"
            """;
        Assert.Equal("made herelatin one", OracleTool.RunExpect(0, "bash", "-c", Check, "bash", image).Stdout);
    }

    [Fact]
    public void RumpExt2fs_ImmutableAndAppendOnlyFlags_RefuseWhatTheKernelsExt4Refuses()
    {
        string tree = _images.File("flags");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "frozen"), "frozen\n");
        File.WriteAllText(Path.Combine(tree, "log"), "one\n");
        string image = _images.File("flags.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, image, "8M");
        // As chattr +i /frozen and chattr +a /log leave them (EXTENTS_FL kept).
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "set_inode_field /frozen flags 0x80010", image);
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "set_inode_field /log flags 0x80020", image);
        // Each line: what was tried, and whether the shell's command failed with EPERM.
        const string Script = """
            cd "$1"
            try() { if out=$( { eval "$2"; } 2>&1 ); then echo "$1 ok"; else case "$out" in *"Operation not permitted"*) echo "$1 EPERM";; *) echo "$1 other: $out";; esac; fi; }
            try overwrite 'printf x > frozen'
            try append-frozen 'printf x >> frozen'
            try rm-frozen 'rm -f frozen'
            try chmod-frozen 'chmod 600 frozen'
            try touch-frozen 'touch frozen'
            try mv-frozen 'mv frozen moved'
            try overwrite-log 'printf x > log'
            try append-log 'printf "two\n" >> log'
            try touch-log 'touch log'
            try rm-log 'rm -f log'
            cat frozen log
            """;
        string kernelCopy = _images.File("flags-kernel.img");
        File.Copy(image, kernelCopy);
        if (KernelExt4Answers(Script, kernelCopy) is string kernel)
        {
            Assert.Equal(ExpectedFlagAnswers, kernel);
        }
        using (RumpDaemon d = RumpDaemon.Start("rump_ext2fs", [image]))
        {
            ToolResult r = OracleTool.Run("bash", "-c", Script, "bash", d.MountPoint);
            Assert.Equal(ExpectedFlagAnswers, r.Stdout);
            Assert.Equal(0, d.UnmountFromOutside());
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, d.Process.ExitCode);
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
        Assert.Equal("one\ntwo\n", OracleTool.RunExpect(0, "debugfs", "-R", "cat /log", image).Stdout);
    }

    [Fact]
    public void RumpExt2fs_RenameExchange_SwapsAFileAndAFolderAcrossParents_E2fsckClean()
    {
        string tree = _images.File("swap");
        Directory.CreateDirectory(Path.Combine(tree, "p1"));
        Directory.CreateDirectory(Path.Combine(tree, "p2", "dir"));
        File.WriteAllText(Path.Combine(tree, "p1", "file"), "data");
        File.WriteAllText(Path.Combine(tree, "p2", "dir", "inner"), "inner");
        string image = _images.File("swap.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, image, "8M");
        using (RumpDaemon d = RumpDaemon.Start("rump_ext2fs", [image]))
        {
            Assert.Equal(0, Sys.Rename(d.Path("p1/file"), d.Path("p2/dir"), Sys.RENAME_EXCHANGE));
            Assert.Equal("inner", File.ReadAllText(d.Path("p1/file/inner")));
            Assert.Equal("data", File.ReadAllText(d.Path("p2/dir")));
            Assert.Equal(0, d.UnmountFromOutside());
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, d.Process.ExitCode);
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
        Assert.Equal("inner", OracleTool.RunExpect(0, "debugfs", "-R", "cat /p1/file/inner", image).Stdout);
        Assert.Equal("data", OracleTool.RunExpect(0, "debugfs", "-R", "cat /p2/dir", image).Stdout);
        Assert.Contains("Links: 3", OracleTool.RunExpect(0, "debugfs", "-R", "stat /p1", image).Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void RumpExt2fs_LsattrAndChattr_AnswerAsTheKernelsExt4()
    {
        string tree = _images.File("attrs");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "frozen"), "frozen\n");
        File.WriteAllText(Path.Combine(tree, "log"), "one\n");
        string image = _images.File("attrs.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", "-d", tree, image, "8M");
        OracleTool.RunExpect(0, "debugfs", "-w", "-R", "set_inode_field /frozen flags 0x80010", image);
        const string Script = """
            cd "$1"
            lsattr frozen log
            chattr -i frozen && echo cleared
            echo new > frozen && cat frozen
            chattr +d log; lsattr log
            chattr +C log 2>&1
            mkdir dd && chattr +a dd && lsattr -d dd
            touch dd/x && echo created
            rm dd/x 2>&1
            chattr -a dd && rm dd/x && echo removed
            chattr +iA frozen; lsattr frozen
            chattr -d frozen 2>&1
            """;
        string kernelCopy = _images.File("attrs-kernel.img");
        File.Copy(image, kernelCopy);
        string? kernel = KernelExt4Answers(Script, kernelCopy);
        string ours;
        using (RumpDaemon d = RumpDaemon.Start("rump_ext2fs", [image]))
        {
            ours = OracleTool.Run("bash", "-c", Script, "bash", d.MountPoint).Stdout;
            Assert.Equal(0, d.UnmountFromOutside());
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, d.Process.ExitCode);
        }
        Assert.Contains("-----a--------e------- dd\n", ours, StringComparison.Ordinal);
        if (kernel is not null)
        {
            Assert.Equal(kernel, ours);
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
        Assert.Contains("Flags: 0x80090\n", OracleTool.RunExpect(0, "debugfs", "-R", "stat /frozen", image).Stdout, StringComparison.Ordinal);
    }

    private const string ExpectedFlagAnswers = """
                overwrite EPERM
                append-frozen EPERM
                rm-frozen EPERM
                chmod-frozen EPERM
                touch-frozen EPERM
                mv-frozen EPERM
                overwrite-log EPERM
                append-log ok
                touch-log ok
                rm-log EPERM
                frozen
                one
                two

                """;

    /// <summary>The script's output on the host kernel's ext4 (loop mount); null where loop mounts are not available.</summary>
    private string? KernelExt4Answers(string script, string image)
    {
        string mnt = _images.File("kernel-mnt");
        Directory.CreateDirectory(mnt);
        if (OracleTool.Run("mount", "-o", "loop", "-t", "ext4", image, mnt).ExitCode != 0)
        {
            return null;
        }
        try
        {
            return OracleTool.Run("bash", "-c", script, "bash", mnt).Stdout;
        }
        finally
        {
            if (OracleTool.Run("umount", mnt).ExitCode != 0)
            {
                OracleTool.Run("umount", "-l", mnt);
            }
        }
    }

    [Fact]
    public void RumpExt2fs_DirectoryEntryWithASlash_IsSkippedWithALogLine_AndTheRestLists()
    {
        string tree = _images.File("slash");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "good"), "fine");
        File.WriteAllText(Path.Combine(tree, "slashXname"), "unreachable");
        string image = _images.File("slash.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", "-d", tree, image, "8M");
        // Damage the name on disk: "slashXname" becomes "slash/name", which no lookup can reach.
        byte[] bytes = File.ReadAllBytes(image);
        int at = bytes.AsSpan().IndexOf("slashXname"u8);
        Assert.True(at > 0);
        bytes[at + 5] = (byte)'/';
        File.WriteAllBytes(image, bytes);
        using RumpDaemon d = RumpDaemon.Start("rump_ext2fs", ["-o", "ro", image]);
        // One such name in a READDIR reply would make the kernel fail the whole listing (EIO).
        Assert.Equal(["good", "lost+found"], Directory.EnumerateFileSystemEntries(d.MountPoint).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("fine", File.ReadAllText(d.Path("good")));
        Assert.Equal(0, d.UnmountFromOutside());
        Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains("skipped: its name is empty or holds '/' or NUL (damaged directory?)", d.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void RumpMsdos_ServesAMkfsFatImage_AndLeavesItCleanForFsckFat()
    {
        string image = _images.File("fat.img");
        OracleTool.RunExpect(0, "mkfs.fat", "-C", image, "8192");
        using (RumpDaemon d = RumpDaemon.Start("rump_msdos", [image]))
        {
            File.WriteAllText(d.Path("NOTE.TXT"), "fat data");
            Assert.Equal(0, d.UnmountFromOutside());
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, d.Process.ExitCode);
        }
        OracleTool.RunExpect(0, "fsck.fat", "-n", image);
        Assert.Equal("fat data", OracleTool.RunExpect(0, "mtype", "-i", image, "::NOTE.TXT").Stdout);
    }

    [Fact]
    public void RumpFfs_ServesAMakefsImage_AndWhatItWroteSurvivesARemount()
    {
        string tree = _images.File("ffstree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "hello"), "from makefs\n");
        string image = _images.File("ffs.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", "version=2", "-s", "8m", image, tree);
        using (RumpDaemon d = RumpDaemon.Start("rump_ffs", [image]))
        {
            Assert.Equal("from makefs\n", File.ReadAllText(d.Path("hello")));
            File.WriteAllText(d.Path("new"), "through the kernel");
            Assert.Equal(0, d.UnmountFromOutside());
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, d.Process.ExitCode);
        }
        using (RumpDaemon d = RumpDaemon.Start("rump_ffs", ["-o", "ro", image]))
        {
            Assert.Equal("through the kernel", File.ReadAllText(d.Path("new")));
            Assert.Equal(Sys.EROFS, Sys.Mkdir(d.Path("nope")));
        }
    }

    [Fact]
    public void RumpFfs_ChattrAndLsattr_StoreImmutableAsSchg_AndTheDaemonEnforcesIt()
    {
        string tree = _images.File("ffsflags");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "f"), "kept\n");
        string image = _images.File("ffsflags.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-o", "version=1", "-s", "8m", image, tree);
        const string Script = """
            cd "$1"
            chattr +C f 2>&1
            chattr +id f && lsattr f
            rm -f f 2>&1
            { printf x >> f; } 2>&1
            chattr -i f && rm f && echo removed
            """;
        using (RumpDaemon d = RumpDaemon.Start("rump_ffs", [image]))
        {
            ToolResult r = OracleTool.Run("bash", "-c", Script, "bash", d.MountPoint);
            Assert.Equal("""
                chattr: Operation not supported while setting flags on f
                ----i-d--------------- f
                rm: cannot remove 'f': Operation not permitted
                bash: line 5: f: Operation not permitted
                removed

                """, r.Stdout);
            Assert.Equal(0, d.UnmountFromOutside());
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, d.Process.ExitCode);
        }
        Assert.DoesNotContain("\tf\n", OracleTool.RunExpect(0, "fls", "-u", "-f", "ufs1", image).Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// An image NetBSD was logging (WAPBL): a read-only mount shows what the log holds and
    /// leaves the image alone, a read-write one replays it and stops logging, a damaged log
    /// is one line and exit 1. The log's transaction is the difference of two makefs images.
    /// </summary>
    [Fact]
    public void RumpFfs_WapblLog_ReplayedReadOnlyInMemory_ReadWriteToTheImage_DamagedRefused()
    {
        const int LogBytes = 128 * 1024;
        byte[] Makefs(string name, bool logged)
        {
            string tree = _images.File(name + "-tree");
            Directory.CreateDirectory(tree);
            File.WriteAllText(Path.Combine(tree, "old"), "old\n");
            if (logged)
            {
                File.WriteAllText(Path.Combine(tree, "logged"), "in the log\n");
            }
            string img = _images.File(name + ".img");
            OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-B", "be", "-o", "version=2", "-s", "8m", img, tree);
            return WapblLogWriter.MarkLogged(File.ReadAllBytes(img), LogBytes);
        }
        byte[] before = Makefs("wapbl-before", logged: false);
        byte[] after = Makefs("wapbl-after", logged: true);
        var log = new WapblLogWriter(bigEndian: true, LogBytes);
        log.Blocks(WapblLogWriter.Transaction(before, after));
        string image = _images.File("wapbl.img");
        byte[] logged = [.. before, .. log.Build(log.CircOff + log.CircSize - 1024, generation: 9)];
        File.WriteAllBytes(image, logged);

        using (RumpDaemon d = RumpDaemon.Start("rump_ffs", ["-o", "ro", image]))
        {
            Assert.Equal("in the log\n", File.ReadAllText(d.Path("logged")));
        }
        Assert.Equal(logged, File.ReadAllBytes(image));

        using (RumpDaemon d = RumpDaemon.Start("rump_ffs", [image]))
        {
            File.WriteAllText(d.Path("new"), "after the replay");
            Assert.Equal(0, d.UnmountFromOutside());
            Assert.True(d.WaitForExit(TimeSpan.FromSeconds(20)));
            Assert.Equal(0, d.Process.ExitCode);
        }
        Assert.Equal(0, BinaryPrimitives.ReadInt32BigEndian(File.ReadAllBytes(image).AsSpan(8192 + 1312)) & 0x100);
        using (RumpDaemon d = RumpDaemon.Start("rump_ffs", ["-o", "ro", image]))
        {
            Assert.Equal("in the log\n", File.ReadAllText(d.Path("logged")));
            Assert.Equal("after the replay", File.ReadAllText(d.Path("new")));
        }

        byte[] damaged = (byte[])logged.Clone();
        BinaryPrimitives.WriteInt64BigEndian(damaged.AsSpan(before.Length + 512 + 64), 1L << 40); // circ_off of the current header
        File.WriteAllBytes(image, damaged);
        string mnt = _images.File("wapbl-mnt");
        Directory.CreateDirectory(mnt);
        (int rc, string output) = RumpDaemon.Run("dotnet", RumpDaemon.ToolDll("rump_ffs"), image, mnt);
        Assert.Equal(1, rc);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("WAPBL log", output, StringComparison.Ordinal);
        Assert.False(Protocol.MountTable.IsMountPoint(mnt));
        Assert.Equal(damaged, File.ReadAllBytes(image));
    }

    /// <summary>
    /// A NetBSD 10 FFSv2ea image (a makefs UFS2 under the FFSv2ea magic) through rump_ffs:
    /// the host's setfattr and getfattr reach the driver's attribute area, which survives
    /// the daemon and is removed again.
    /// </summary>
    [Fact]
    public void RumpFfs_Ufs2Ea_HostXattrToolsSetReadAndRemove()
    {
        string tree = _images.File("ea-tree");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "f"), "data\n");
        string image = _images.File("ea.img");
        OracleTool.RunExpect(0, "makefs", "-t", "ffs", "-B", "le", "-o", "version=2", "-s", "8m", image, tree);
        byte[] b = File.ReadAllBytes(image);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8192 + 1372), 0x19012038);
        File.WriteAllBytes(image, b);

        using (RumpDaemon d = RumpDaemon.Start("rump_ffs", [image]))
        {
            OracleTool.RunExpect(0, "setfattr", "-n", "user.colour", "-v", "blue", d.Path("f"));
            ToolResult get = OracleTool.RunExpect(0, "getfattr", "-d", d.Path("f"));
            Assert.Contains("user.colour=\"blue\"", get.Stdout, StringComparison.Ordinal);
            ToolResult sys = OracleTool.Run("setfattr", "-n", "user.x", "-v", new string('v', 40000), d.Path("f"));
            Assert.True(sys.ExitCode != 0 && sys.Stderr.Contains("No space left", StringComparison.Ordinal), sys.Transcript);
        }
        using (RumpDaemon d = RumpDaemon.Start("rump_ffs", [image]))
        {
            ToolResult get = OracleTool.RunExpect(0, "getfattr", "-n", "user.colour", "--only-values", d.Path("f"));
            Assert.Equal("blue", get.Stdout);
            OracleTool.RunExpect(0, "setfattr", "-x", "user.colour", d.Path("f"));
            Assert.Equal("data\n", File.ReadAllText(d.Path("f")));
        }
        using (RumpDaemon d = RumpDaemon.Start("rump_ffs", ["-o", "ro", image]))
        {
            Assert.Equal("", OracleTool.RunExpect(0, "getfattr", "-d", d.Path("f")).Stdout);
        }
    }

    /// <summary>
    /// setcap, getcap and setfattr on trusted.* reach an ext4 image through rump_ext2fs (the
    /// tests run as root); appending to a file drops its capability, as the kernel's own file
    /// systems do (the daemon handles it, FUSE_HANDLE_KILLPRIV_V2); debugfs reads what stayed.
    /// </summary>
    [Fact]
    public void RumpExt2fs_SetcapAndTrusted_AnAppendDropsTheCapability()
    {
        string image = _images.File("caps.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", image, "8M");
        using (RumpDaemon d = RumpDaemon.Start("rump_ext2fs", [image]))
        {
            File.WriteAllText(d.Path("ping"), "binary\n");
            File.WriteAllText(d.Path("edited"), "binary\n");
            OracleTool.RunExpect(0, "setcap", "cap_net_raw+ep", d.Path("ping"));
            OracleTool.RunExpect(0, "setcap", "cap_net_raw+ep", d.Path("edited"));
            OracleTool.RunExpect(0, "setfattr", "-n", "trusted.t", "-v", "kept", d.Path("ping"));
            Assert.Contains("cap_net_raw=ep", OracleTool.RunExpect(0, "getcap", d.Path("ping")).Stdout, StringComparison.Ordinal);
            File.AppendAllText(d.Path("edited"), "patched\n");
            Assert.Equal("", OracleTool.RunExpect(0, "getcap", d.Path("edited")).Stdout.Trim());
            Assert.Contains("trusted.t=\"kept\"", OracleTool.RunExpect(0, "getfattr", "-d", "-m", "-", d.Path("ping")).Stdout, StringComparison.Ordinal);
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
        string ping = OracleTool.RunExpect(0, "debugfs", "-R", "ea_list ping", image).Stdout;
        Assert.Contains("security.capability (20)", ping, StringComparison.Ordinal);
        Assert.Contains("trusted.t (4) = \"kept\"", ping, StringComparison.Ordinal);
        Assert.DoesNotContain("security.capability", OracleTool.RunExpect(0, "debugfs", "-R", "ea_list edited", image).Stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// setfacl and getfacl through rump_ext2fs: the kernel enforces the ACL (FUSE_POSIX_ACL)
    /// for another user, a default ACL is inherited with the caller's umask ignored
    /// (FUSE_DONT_MASK) while the umask still applies elsewhere, chmod narrows the mask;
    /// e2fsck and debugfs read what was stored.
    /// </summary>
    [Fact]
    public void RumpExt2fs_SetfaclGetfacl_EnforcedAndInherited()
    {
        string image = _images.File("acl.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext4", image, "8M");
        using (RumpDaemon d = RumpDaemon.Start("rump_ext2fs", ["-o", "allow_other", image]))
        {
            File.WriteAllText(d.Path("secret"), "for nobody\n");
            File.WriteAllText(d.Path("closed"), "not for nobody\n");
            OracleTool.RunExpect(0, "chmod", "600", d.Path("secret"), d.Path("closed"));
            OracleTool.RunExpect(0, "setfacl", "-m", $"u:{AsNobody.Id}:r", d.Path("secret"));
            Assert.Contains($"user:{AsNobody.Id}:r--", OracleTool.RunExpect(0, "getfacl", "-cn", d.Path("secret")).Stdout, StringComparison.Ordinal);
            Assert.Equal((0, "for nobody\n"), AsNobody.Run("cat", d.Path("secret")));
            Assert.NotEqual(0, AsNobody.Run("cat", d.Path("closed")).ExitCode);

            OracleTool.RunExpect(0, "chmod", "600", d.Path("secret"));
            Assert.Contains("mask::---", OracleTool.RunExpect(0, "getfacl", "-cn", d.Path("secret")).Stdout, StringComparison.Ordinal);
            Assert.NotEqual(0, AsNobody.Run("cat", d.Path("secret")).ExitCode);

            Directory.CreateDirectory(d.Path("shared"));
            OracleTool.RunExpect(0, "setfacl", "-d", "-m", $"u:{AsNobody.Id}:rwx", d.Path("shared"));
            OracleTool.RunExpect(0, "sh", "-c", $"umask 077 && echo new > {d.Path("shared/new")} && mkdir {d.Path("shared/sub")} && echo p > {d.Path("private")}");
            Assert.Equal("664 775 600", OracleTool.RunExpect(0, "stat", "-c", "%a", d.Path("shared/new"), d.Path("shared/sub"), d.Path("private")).Stdout.Replace('\n', ' ').Trim());
            Assert.Contains($"default:user:{AsNobody.Id}:rwx", OracleTool.RunExpect(0, "getfacl", "-cn", d.Path("shared/sub")).Stdout, StringComparison.Ordinal);
            Assert.Equal(0, AsNobody.Run("sh", "-c", $"echo more >> {d.Path("shared/new")}").ExitCode);
        }
        OracleTool.RunExpect(0, "e2fsck", "-fn", image);
        Assert.Contains("system.posix_acl_access", OracleTool.RunExpect(0, "debugfs", "-R", "ea_list shared/new", image).Stdout, StringComparison.Ordinal);
        Assert.Contains("system.posix_acl_default", OracleTool.RunExpect(0, "debugfs", "-R", "ea_list shared/sub", image).Stdout, StringComparison.Ordinal);
        Assert.Equal("new\nmore\n", OracleTool.RunExpect(0, "debugfs", "-R", "cat shared/new", image).Stdout);
    }

    [Fact]
    public void ImageAlreadyServed_SecondDaemonExitsOneWithOneLine_AndTheMountKeepsWorking()
    {
        string image = _images.File("busy.img");
        OracleTool.RunExpect(0, "mke2fs", "-q", "-F", "-t", "ext2", image, "4M");
        using RumpDaemon d = RumpDaemon.Start("rump_ext2fs", [image]);
        string other = _images.File("other");
        Directory.CreateDirectory(other);
        (int rc, string output) = RumpDaemon.Run("dotnet", RumpDaemon.ToolDll("rump_ext2fs"), image, other);
        Assert.Equal(1, rc);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("in use", output, StringComparison.Ordinal);
        Assert.False(Protocol.MountTable.IsMountPoint(other));
        File.WriteAllText(d.Path("still"), "fine");
        Assert.Equal("fine", File.ReadAllText(d.Path("still")));
    }

    [Fact]
    public void WrongFormat_ExitsOneWithTheDriversMessage()
    {
        string image = _images.File("zeros.img");
        File.WriteAllBytes(image, new byte[1 << 20]);
        string mnt = _images.File("mnt");
        Directory.CreateDirectory(mnt);
        (int rc, string output) = RumpDaemon.Run("dotnet", RumpDaemon.ToolDll("rump_ext2fs"), image, mnt);
        Assert.Equal(1, rc);
        Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("rump_ext2fs: ", output, StringComparison.Ordinal);
        Assert.Equal(new byte[1 << 20], File.ReadAllBytes(image));
    }

    public void Dispose() => _images.Dispose();
}
