using RumpFs.Kernel;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Conformance.ConformanceContext;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>Which of atime/mtime/ctime each operation updates (POSIX).</summary>
public class TimestampConformanceTests
{
    private static void Later(Timespec before, Timespec after, string what) =>
        Assert.True(after > before, $"{what}: {after} is not after {before}");

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Create_UpdatesParentMtimeAndCtime(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        VAttr before = c.Fs.StatOk("/d");
        c.Tick();
        Ok(c.Fs.Create("/d/f"), "create");
        VAttr after = c.Fs.StatOk("/d");
        Later(before.Mtime, after.Mtime, "dir mtime");
        Later(before.Ctime, after.Ctime, "dir ctime");
        VAttr file = c.Fs.StatOk("/d/f");
        Assert.InRange(file.Mtime.Seconds, c.Clock.Now.Seconds - 2, c.Clock.Now.Seconds);
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Write_UpdatesMtime(string target)
    {
        using var c = new ConformanceContext(target);
        c.Fs.WriteFileOk("/f", "one"u8.ToArray());
        VAttr before = c.Fs.StatOk("/f");
        c.Tick();
        Ok(c.Fs.Write("/f", 3, "two"u8), "write");
        VAttr after = c.Fs.StatOk("/f");
        Later(before.Mtime, after.Mtime, "mtime");
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void Chmod_UpdatesCtimeNotMtime(string target)
    {
        using var c = new ConformanceContext(target);
        c.Fs.WriteFileOk("/f", "x"u8.ToArray());
        VAttr before = c.Fs.StatOk("/f");
        c.Tick();
        Ok(c.Fs.Chmod("/f", 0x180), "chmod");
        VAttr after = c.Fs.StatOk("/f");
        Assert.Equal(before.Mtime, after.Mtime);
        if (c.Dev.PermissionBits)
        {
            Later(before.Ctime, after.Ctime, "ctime");
        }
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void SetTimes_ExplicitValues_AreStored(string target)
    {
        using var c = new ConformanceContext(target);
        Ok(c.Fs.Create("/f"), "create");
        VAttr set = VAttr.ForSet(VAttrMask.Atime | VAttrMask.Mtime);
        set.Atime = new Timespec(1_000_000_000, 0);
        set.Mtime = new Timespec(1_200_000_000, 500_000_000);
        Ok(c.Fs.SetAttr("/f", set), "utimes");
        VAttr va = c.Fs.StatOk("/f");
        long granularity = c.Dev.MtimeGranularityNs;
        long expected = (1_200_000_000L * 1_000_000_000 + 500_000_000) / granularity * granularity;
        long actual = (va.Mtime.Seconds * 1_000_000_000) + va.Mtime.Nanoseconds;
        Assert.InRange(actual, expected - granularity, expected + granularity);
    }

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void SetTimes_NowByNonOwnerWithWriteAccess_IsAllowed_ExplicitIsNot(string target)
    {
        using var c = new ConformanceContext(target);
        if (!c.Dev.PermissionBits)
        {
            return;
        }
        Ok(c.Fs.Create("/shared", 0x1B6), "create 0666");
        Ok(c.Fs.Chmod("/shared", 0x1B6), "chmod 0666");
        c.Fs.Cred = RumpFs.TestSupport.VfsHarness.User;
        VAttr now = VAttr.ForSet(VAttrMask.Atime | VAttrMask.Mtime | VAttrMask.TimesAreNow);
        Ok(c.Fs.SetAttr("/shared", now), "utimes now");
        VAttr explicitTimes = VAttr.ForSet(VAttrMask.Mtime);
        explicitTimes.Mtime = new Timespec(5, 0);
        Is(Errno.EPERM, c.Fs.SetAttr("/shared", explicitTimes), "explicit utimes as non-owner");
    }
}
