using RumpFs.Kernel;

namespace RumpFs.Vfs.Tests;

public class AccessTests
{
    private static VAttr File(uint mode, uint uid = 1000, uint gid = 1000, VType type = VType.Regular) =>
        new() { Type = type, Mode = mode, Uid = uid, Gid = gid };

    [Fact]
    public void OwnerGroupOther_BitsApplyInThatOrder()
    {
        var owner = new Credentials(1000, 5000);
        var member = new Credentials(2000, 5000, [1000]);
        var other = new Credentials(3000, 3000);
        VAttr f = File(0x1C4); // 0704: owner rwx, group none, other r
        Assert.Equal(Errno.OK, Access.Check(f, AccessMode.Read | AccessMode.Write, owner));
        Assert.Equal(Errno.EACCES, Access.Check(f, AccessMode.Read, member));
        Assert.Equal(Errno.OK, Access.Check(f, AccessMode.Read, other));
        Assert.Equal(Errno.EACCES, Access.Check(f, AccessMode.Write, other));
    }

    [Fact]
    public void Root_BypassesBits_ButNeedsOneExecuteBitOnFiles()
    {
        Assert.Equal(Errno.OK, Access.Check(File(0), AccessMode.Read | AccessMode.Write, Credentials.Root));
        Assert.Equal(Errno.EACCES, Access.Check(File(0x1A4), AccessMode.Execute, Credentials.Root));
        Assert.Equal(Errno.OK, Access.Check(File(0x1A5), AccessMode.Execute, Credentials.Root));
        Assert.Equal(Errno.OK, Access.Check(File(0, type: VType.Directory), AccessMode.Execute, Credentials.Root));
    }

    [Fact]
    public void Sticky_OnlyOwnersOrRootRemove()
    {
        VAttr dir = File(0x3FF, uid: 0, gid: 0, type: VType.Directory);
        VAttr entry = File(0x1A4, uid: 1000);
        Assert.Equal(Errno.OK, Access.CheckSticky(dir, entry, new Credentials(1000, 1000)));
        Assert.Equal(Errno.EPERM, Access.CheckSticky(dir, entry, new Credentials(1001, 1001)));
        Assert.Equal(Errno.OK, Access.CheckSticky(dir, entry, Credentials.Root));
    }

    [Fact]
    public void Chmod_SetgidByNonMember_DropsTheBit()
    {
        VAttr current = File(0x1A4, uid: 1000, gid: 50);
        VAttr req = VAttr.ForSet(VAttrMask.Mode);
        req.Mode = 0x5A4;
        Assert.Equal(Errno.OK, Access.CheckSetAttr(current, ref req, new Credentials(1000, 1000)));
        Assert.Equal(0x1A4u, req.Mode);
    }

    [Fact]
    public void Chown_ToOwnGroupByOwner_IsAllowed_ToOtherUid_IsNot()
    {
        VAttr current = File(0x1A4, uid: 1000, gid: 1000);
        var owner = new Credentials(1000, 1000, [77]);
        VAttr chgrp = VAttr.ForSet(VAttrMask.Gid);
        chgrp.Gid = 77;
        Assert.Equal(Errno.OK, Access.CheckSetAttr(current, ref chgrp, owner));
        VAttr chown = VAttr.ForSet(VAttrMask.Uid);
        chown.Uid = 5;
        Assert.Equal(Errno.EPERM, Access.CheckSetAttr(current, ref chown, owner));
    }
}
