using RumpFs.Kernel;
using RumpFs.TestSupport;
using static RumpFs.Drivers.Tests.Conformance.ConformanceContext;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>Permission rules for an unprivileged credential.</summary>
public class PermissionConformanceTests
{
    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Create_InDirectoryWithoutWritePermission_ReturnsEacces(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.PermissionBits || !c.Dev.Ownership)
        {
            return;
        }
        Ok(c.Fs.Mkdir("/locked", 0x1ED), "mkdir 0755");
        c.Fs.Cred = VfsHarness.User;
        Is(Errno.EACCES, c.Fs.Create("/locked/f"), "create as user");
        Is(Errno.EACCES, c.Fs.Mkdir("/locked/d"), "mkdir as user");
        c.Fs.Cred = Credentials.Root;
        Ok(c.Fs.Chown("/locked", 1000, 1000), "chown");
        c.Fs.Cred = VfsHarness.User;
        Ok(c.Fs.Create("/locked/f"), "create as owner");
        Assert.Equal(1000u, c.Fs.StatOk("/locked/f").Uid);
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Lookup_WithoutSearchPermission_ReturnsEacces(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.PermissionBits)
        {
            return;
        }
        Ok(c.Fs.Mkdir("/closed", 0x1C0), "mkdir 0700");
        Ok(c.Fs.Create("/closed/inner"), "create");
        c.Fs.Cred = VfsHarness.User;
        Is(Errno.EACCES, c.Fs.Stat("/closed/inner", out _), "stat through 0700 dir");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Remove_InStickyDirectoryByOtherUser_ReturnsEperm(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.PermissionBits || !c.Dev.Ownership)
        {
            return;
        }
        Ok(c.Fs.Mkdir("/tmp", 0x3FF), "mkdir 1777");
        Ok(c.Fs.Chmod("/tmp", 0x3FF), "chmod 1777");
        c.Fs.Cred = VfsHarness.User;
        Ok(c.Fs.Create("/tmp/mine"), "create as user");
        c.Fs.Cred = VfsHarness.OtherUser;
        Is(Errno.EPERM, c.Fs.Remove("/tmp/mine"), "remove as other");
        Is(Errno.EPERM, c.Fs.Rename("/tmp/mine", "/tmp/stolen"), "rename as other");
        c.Fs.Cred = VfsHarness.User;
        Ok(c.Fs.Remove("/tmp/mine"), "remove as owner");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Chmod_ByNonOwner_ReturnsEperm_ChownByUser_ReturnsEperm(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Create("/f"), "create");
        c.Fs.Cred = VfsHarness.User;
        Is(Errno.EPERM, c.Fs.Chmod("/f", 0x1FF), "chmod as non-owner");
        Is(Errno.EPERM, c.Fs.Chown("/f", 1000, 1000), "chown as user");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Chmod_ByOwner_StoresBits(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Create("/f", 0x1A4), "create");
        Ok(c.Fs.Chmod("/f", 0x124), "chmod 0444");
        uint mode = c.Fs.StatOk("/f").Mode;
        if (c.Dev.PermissionBits)
        {
            Assert.Equal(0x124u, mode);
        }
        else
        {
            Assert.Equal(0u, mode & 0x92); // FAT: read-only attribute clears every write bit
        }
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Truncate_WithoutWritePermission_ReturnsEacces(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.PermissionBits)
        {
            return;
        }
        c.Fs.WriteFileOk("/ro", "data"u8.ToArray());
        Ok(c.Fs.Chmod("/ro", 0x1A4), "chmod 0644");
        c.Fs.Cred = VfsHarness.User;
        Is(Errno.EACCES, c.Fs.Truncate("/ro", 0), "truncate as other");
        Assert.Equal(4, c.Fs.As(Credentials.Root, h => h.StatOk("/ro")).Size);
    }
}
