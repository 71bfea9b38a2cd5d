using System.Text;
using RumpFs.Kernel;
using RumpFs.TestSupport;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Conformance.ConformanceContext;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>
/// The immutable and append-only flags (chattr +i/+a on ext2/ext4, chflags schg/sappnd on
/// FFS), as Linux applies them: even root gets EPERM, and the file is left as it was.
/// </summary>
public class ProtectionConformanceTests
{
    private const int O_WRONLY = 1, O_RDWR = 2, O_TRUNC = 0x200, O_APPEND = 0x400;
    private static readonly byte[] Data = Encoding.ASCII.GetBytes("kept as it was\n");

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void ImmutableFile_RefusesEveryChange_EvenToRoot_AndStaysReadable(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.FileFlags)
        {
            Is(Errno.ENOTTY, c.Fs.WithVnode("/", true, vp => Vop.SetFileFlags(vp, FileFlags.Immutable, Credentials.Root)), "chattr");
            return;
        }
        c.Fs.WriteFileOk("/f", Data);
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        SetFlags(c, "/f", FileFlags.Immutable);
        Assert.Equal(NodeProtection.Immutable, c.Fs.StatOk("/f").Protection);
        VAttr before = c.Fs.StatOk("/f");
        c.Tick();

        Is(Errno.EPERM, c.Fs.Write("/f", 0, "x"u8), "write");
        Is(Errno.EPERM, c.Fs.Write("/f", Data.Length, "x"u8), "write at the end");
        Is(Errno.EPERM, Open(c, "/f", O_WRONLY | O_APPEND), "open for writing");
        Is(Errno.EPERM, Open(c, "/f", O_RDWR), "open read-write");
        Ok(Open(c, "/f", 0), "open read-only");
        Is(Errno.EPERM, c.Fs.Truncate("/f", 0), "truncate");
        Is(Errno.EPERM, c.Fs.Chmod("/f", 0x1FF), "chmod");
        Is(Errno.EPERM, c.Fs.Chown("/f", 1000, 1000), "chown");
        Is(Errno.EPERM, SetTimes(c, "/f", now: false), "utimes");
        Is(Errno.EPERM, SetTimes(c, "/f", now: true), "touch");
        Is(Errno.EPERM, c.Fs.Remove("/f"), "unlink");
        Is(Errno.EPERM, c.Fs.Rename("/f", "/g"), "rename");
        Is(Errno.EPERM, c.Fs.Rename("/f", "/d/f"), "rename to another folder");
        Is(Errno.EPERM, c.Fs.Link("/f", "/g"), "link");
        Is(Errno.EPERM, c.Fs.WithVnode("/f", true, vp => Vop.Allocate(vp, 0, 8192, Credentials.Root)), "fallocate");
        Is(Errno.EPERM, c.Fs.WithVnode("/f", true, vp => Vop.PunchHole(vp, 0, 4096, Credentials.Root)), "punch hole");
        Errno xattr = c.Fs.WithVnode("/f", true, vp => Vop.SetXattr(vp, "user.x", "1"u8, XattrSetMode.Any, Credentials.Root));
        Assert.True(xattr is Errno.EPERM or Errno.EOPNOTSUPP, $"setxattr: {xattr}");
        c.Fs.WriteFileOk("/other", Data);
        Is(Errno.EPERM, c.Fs.Rename("/other", "/f"), "rename over it");

        AssertUnchanged(c, "/f", before);
        Assert.True(c.Fs.Exists("/other") && !c.Fs.Exists("/g") && !c.Fs.Exists("/d/f"), "no name moved");
        if (c.TryRemount())
        {
            AssertUnchanged(c, "/f", before);
        }
        SetFlags(c, "/f", FileFlags.None);
        Ok(c.Fs.Remove("/f"), "unlink once the flag is cleared");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void AppendOnlyFile_TakesDataAtItsEndOnly(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.FileFlags)
        {
            return;
        }
        c.Fs.WriteFileOk("/log", Data);
        SetFlags(c, "/log", FileFlags.AppendOnly);
        Assert.Equal(NodeProtection.AppendOnly, c.Fs.StatOk("/log").Protection);

        Is(Errno.EPERM, Open(c, "/log", O_WRONLY), "open for writing without O_APPEND");
        Is(Errno.EPERM, Open(c, "/log", O_WRONLY | O_APPEND | O_TRUNC), "open with O_TRUNC");
        Ok(Open(c, "/log", O_WRONLY | O_APPEND), "open with O_APPEND");
        Is(Errno.EPERM, c.Fs.Write("/log", 0, "x"u8), "overwrite");
        Ok(c.Fs.Write("/log", Data.Length, "more\n"u8), "write at the end");
        Is(Errno.EPERM, c.Fs.Truncate("/log", 0), "truncate");
        Is(Errno.EPERM, c.Fs.Chmod("/log", 0x1FF), "chmod");
        Is(Errno.EPERM, SetTimes(c, "/log", now: false), "utimes");
        Ok(SetTimes(c, "/log", now: true), "touch");
        Is(Errno.EPERM, c.Fs.WithVnode("/log", true, vp => Vop.PunchHole(vp, 0, 4096, Credentials.Root)), "punch hole");
        Is(Errno.EPERM, c.Fs.Remove("/log"), "unlink");
        Is(Errno.EPERM, c.Fs.Rename("/log", "/old"), "rename");
        Is(Errno.EPERM, c.Fs.Link("/log", "/old"), "link");

        Assert.Equal("kept as it was\nmore\n", Encoding.ASCII.GetString(c.Fs.ReadAllOk("/log")));
        Assert.Equal(1u, c.Fs.StatOk("/log").Nlink);
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void ImmutableDirectory_KeepsItsEntries_AppendOnlyDirectoryOnlyGainsThem(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.FileFlags)
        {
            return;
        }
        Ok(c.Fs.Mkdir("/frozen"), "mkdir");
        c.Fs.WriteFileOk("/frozen/in", Data);
        SetFlags(c, "/frozen", FileFlags.Immutable);
        Is(Errno.EPERM, c.Fs.Create("/frozen/new"), "create in it");
        Is(Errno.EPERM, c.Fs.Mkdir("/frozen/sub"), "mkdir in it");
        Is(Errno.EPERM, c.Fs.Remove("/frozen/in"), "unlink in it");
        Is(Errno.EPERM, c.Fs.Rename("/frozen/in", "/out"), "rename out of it");
        Is(Errno.EPERM, c.Fs.Rmdir("/frozen"), "rmdir it");
        Ok(c.Fs.Write("/frozen/in", 0, "K"u8), "write to a file in it (the file is not immutable)");
        Assert.Equal(["in"], c.Fs.ListOk("/frozen"));

        Ok(c.Fs.Mkdir("/spool"), "mkdir");
        c.Fs.WriteFileOk("/spool/first", Data);
        SetFlags(c, "/spool", FileFlags.AppendOnly);
        Ok(c.Fs.Create("/spool/second"), "create in an append-only folder");
        Is(Errno.EPERM, c.Fs.Remove("/spool/first"), "unlink in it");
        Is(Errno.EPERM, c.Fs.Rename("/spool/first", "/spool/renamed"), "rename in it");
        Assert.Equal(["first", "second"], c.Fs.ListOk("/spool").Order(StringComparer.Ordinal));
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Chattr_OwnerSetsOrdinaryFlags_OnlyRootTheProtectingOnes_AndTheyStay(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.FileFlags || !c.Dev.Ownership)
        {
            return;
        }
        c.Fs.WriteFileOk("/f", Data);
        Ok(c.Fs.Chown("/f", 1000, 1000), "chown");
        Errno Chattr(Credentials cred, Func<FileFlags, FileFlags> change) => c.Fs.WithVnode("/f", true, vp =>
        {
            Errno g = Vop.GetFileFlags(vp, out FileFlags old);
            return g != Errno.OK ? g : Vop.SetFileFlags(vp, change(old), cred);
        });
        FileFlags Lsattr()
        {
            FileFlags flags = FileFlags.None;
            Ok(c.Fs.WithVnode("/f", true, vp => Vop.GetFileFlags(vp, out flags)), "lsattr");
            return flags;
        }
        FileFlags layout = Lsattr(); // ext4: extents
        Assert.Equal(FileFlags.None, layout & ~FileFlags.Extents);
        VAttr before = c.Fs.StatOk("/f");
        c.Tick();

        Is(Errno.EPERM, Chattr(VfsHarness.OtherUser, f => f | FileFlags.NoDump), "chattr +d by another user");
        Ok(Chattr(VfsHarness.User, f => f | FileFlags.NoDump), "chattr +d by the owner");
        Assert.True(c.Fs.StatOk("/f").Ctime > before.Ctime, "ctime moves");
        Is(Errno.EPERM, Chattr(VfsHarness.User, f => f | FileFlags.Immutable), "chattr +i by the owner");
        Is(Errno.EOPNOTSUPP, Chattr(Credentials.Root, f => f | FileFlags.NoCow), "chattr +C (no format here stores it)");
        Ok(Chattr(Credentials.Root, f => f | FileFlags.Immutable), "chattr +i by root");
        Is(Errno.EPERM, Chattr(Credentials.Root, f => f & ~FileFlags.NoDump), "chattr -d while immutable");
        Assert.Equal(layout | FileFlags.NoDump | FileFlags.Immutable, Lsattr());
        if (c.TryRemount())
        {
            Assert.Equal(layout | FileFlags.NoDump | FileFlags.Immutable, Lsattr());
            Assert.Equal(NodeProtection.Immutable, c.Fs.StatOk("/f").Protection);
        }
        Ok(Chattr(Credentials.Root, f => f & ~(FileFlags.Immutable | FileFlags.NoDump)), "chattr -id");
        Assert.Equal(layout, Lsattr());
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void NoAtimeFlag_KeepsAtimeOnRead_WhereTheFormatStoresIt(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.FileFlags)
        {
            return;
        }
        c.Fs.WriteFileOk("/f", Data);
        VAttr old = VAttr.ForSet(VAttrMask.Atime);
        old.Atime = new Timespec(1_000_000_000, 0);
        Ok(c.Fs.SetAttr("/f", old), "set atime");
        Errno e = c.Fs.WithVnode("/f", true, vp =>
        {
            Errno g = Vop.GetFileFlags(vp, out FileFlags flags);
            return g != Errno.OK ? g : Vop.SetFileFlags(vp, flags | FileFlags.NoAtime, Credentials.Root);
        });
        if (e == Errno.EOPNOTSUPP)
        {
            return; // FFS has no such flag
        }
        Ok(e, "chattr +A");
        c.Tick();
        Assert.Equal(Data, c.Fs.ReadAllOk("/f"));
        Assert.Equal(old.Atime, c.Fs.StatOk("/f").Atime);

        Ok(c.Fs.WithVnode("/f", true, vp =>
        {
            Errno g = Vop.GetFileFlags(vp, out FileFlags flags);
            return g != Errno.OK ? g : Vop.SetFileFlags(vp, flags & ~FileFlags.NoAtime, Credentials.Root);
        }), "chattr -A");
        c.Tick();
        Assert.Equal(Data, c.Fs.ReadAllOk("/f"));
        Assert.True(c.Fs.StatOk("/f").Atime > old.Atime, "atime moves once the flag is cleared");
    }

    /// <summary>As chattr +x/-x does: the flag changes, the others stay (ext4's extents flag, say).</summary>
    private static void SetFlags(ConformanceContext c, string path, FileFlags flag)
    {
        Errno e = c.Fs.WithVnode(path, false, vp =>
        {
            Errno g = Vop.GetFileFlags(vp, out FileFlags old);
            FileFlags wanted = flag == FileFlags.None ? old & ~(FileFlags.Immutable | FileFlags.AppendOnly) : old | flag;
            return g != Errno.OK ? g : Vop.SetFileFlags(vp, wanted, Credentials.Root);
        });
        Ok(e, $"chattr {flag} {path}");
    }

    private static Errno Open(ConformanceContext c, string path, int flags) =>
        c.Fs.WithVnode(path, true, vp =>
        {
            Errno e = Vop.Open(vp, flags, c.Fs.Cred);
            if (e == Errno.OK)
            {
                Vop.Close(vp, flags);
            }
            return e;
        });

    private static Errno SetTimes(ConformanceContext c, string path, bool now)
    {
        VAttr va = VAttr.ForSet(VAttrMask.Atime | VAttrMask.Mtime | (now ? VAttrMask.TimesAreNow : VAttrMask.None));
        va.Atime = va.Mtime = new Timespec(1_600_000_000, 0);
        return c.Fs.SetAttr(path, va);
    }

    private static void AssertUnchanged(ConformanceContext c, string path, VAttr before)
    {
        VAttr now = c.Fs.StatOk(path);
        Assert.Equal(Data, c.Fs.ReadAllOk(path));
        Assert.Equal((before.Mode, before.Uid, before.Gid, before.Size, before.Nlink), (now.Mode, now.Uid, now.Gid, now.Size, now.Nlink));
        Assert.Equal(before.Mtime, now.Mtime);
    }
}
