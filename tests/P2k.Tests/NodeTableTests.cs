using System.Diagnostics;
using RumpFs.FsDrivers.Tmpfs;
using RumpFs.Kernel;
using RumpFs.P2k.Protocol;
using RumpFs.P2k.Tests.Support;
using RumpFs.Vfs;

namespace RumpFs.P2k.Tests;

/// <summary>
/// The node table, served in this process so its counts can be read: FORGET gives every
/// reference back, and no vnode stays referenced after unmount.
/// </summary>
public sealed class NodeTableTests
{
    [Fact]
    public void Forget_ReleasesEveryVnode_AndNoneStaysReferencedAfterUnmount()
    {
        FileSystemRegistry.Register(new TmpfsDriver());
        MountOptions.Parse("size=64M", out MountOptions options, out _);
        Assert.Equal(Errno.OK, FileSystemRegistry.Mount("tmpfs", null, options, out Mount? mount, out string? message));
        string scratch = RumpDaemon.NewScratch();
        string mnt = Path.Combine(scratch, "mnt");
        Directory.CreateDirectory(mnt);
        var serverOptions = new P2kServerOptions
        {
            Kernel = new FuseMountOptions { Source = "nodetable", Subtype = "rump_tmpfs" },
            Bridge = new Bridge.BridgeOptions(EntryTimeout: 0, AttrTimeout: 0),
        };
        Assert.Equal(Errno.OK, P2kServer.Start(mount!, mnt, serverOptions, out P2kServer? server, out message));
        Errno unmounted = Errno.EIO;
        try
        {
            for (int i = 0; i < 50; i++)
            {
                string dir = Path.Combine(mnt, $"d{i % 5}");
                Directory.CreateDirectory(dir);
                File.WriteAllText(Path.Combine(dir, $"f{i}"), new string('z', i));
            }
            Assert.Equal(0, Sys.Link(Path.Combine(mnt, "d0", "f0"), Path.Combine(mnt, "hard")));
            Assert.Equal(0, Sys.Symlink("d1/f1", Path.Combine(mnt, "soft")));
            Assert.Equal("z", File.ReadAllText(Path.Combine(mnt, "soft")));
            Assert.Equal(0, RumpDaemon.Run("ls", "-lR", mnt).ExitCode); // READDIRPLUS lookups
            using (var held = new FileStream(Path.Combine(mnt, "d2", "f2"), FileMode.Open))
            {
                File.Delete(Path.Combine(mnt, "d2", "f2"));
                Assert.Equal(2, held.Read(new byte[8]));
            }
            Assert.True(server!.FileSystem.NodeCount > 50);

            // Make the kernel drop its dentries and inodes: it FORGETs every node but the root.
            var sw = Stopwatch.StartNew();
            while (server.FileSystem.NodeCount > 1 && sw.Elapsed < TimeSpan.FromSeconds(10))
            {
                File.WriteAllText("/proc/sys/vm/drop_caches", "2");
                Thread.Sleep(100);
            }
            Assert.Equal(1, server.FileSystem.NodeCount);
            Assert.Equal(0, server.FileSystem.OpenHandleCount);
            Assert.Equal(1, mount!.Vnodes.ReferencedCount); // the root, held by the table
        }
        finally
        {
            RumpDaemon.Run("umount", mnt);
            Assert.True(server!.WaitForEnd(TimeSpan.FromSeconds(10)));
            unmounted = server.Shutdown();
            server.Dispose();
            Directory.Delete(scratch, recursive: true);
        }
        // Shutdown unmounts without force: EBUSY would name a leaked reference.
        Assert.Equal(Errno.OK, unmounted);
        Assert.Equal(0, mount.Vnodes.ReferencedCount);
        Assert.True(mount.IsUnmounted);
    }
}
