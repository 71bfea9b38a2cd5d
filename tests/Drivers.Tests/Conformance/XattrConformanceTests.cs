using RumpFs.Kernel;
using RumpFs.Vfs;
using static RumpFs.Drivers.Tests.Conformance.ConformanceContext;

namespace RumpFs.Drivers.Tests.Conformance;

/// <summary>
/// <see cref="Mount.HasXattrs"/> is a promise front ends act on for the whole mount (P2k
/// answers the kernel's GETXATTR with ENOSYS, which the kernel then keeps): where it is
/// false, every get fails with EOPNOTSUPP, on files, folders and the root, whatever the
/// name; where it is true, a name the file lacks is ENODATA.
/// </summary>
public class XattrConformanceTests
{
    private static readonly string[] Names = ["user.x", "security.capability", "trusted.x", "system.posix_acl_access"];

    [Theory, MemberData(nameof(ConformanceTargets.Names), MemberType = typeof(ConformanceTargets))]
    public void HasXattrs_FalseOnlyWhereNoGetCanSucceed(string target)
    {
        using var c = new ConformanceContext(target);
        c.Fs.WriteFileOk("/f", "data"u8.ToArray());
        Ok(c.Fs.Mkdir("/d"), "mkdir");
        bool has = c.Fs.Mount.HasXattrs;
        if (target.StartsWith("msdos", StringComparison.Ordinal) || target == "ffs-ufs1-le")
        {
            Assert.False(has, "FAT and UFS1 keep no extended attributes");
        }
        foreach (string path in (string[])["/f", "/d", "/"])
        {
            if (!has)
            {
                foreach (string name in Names)
                {
                    Is(Errno.EOPNOTSUPP, c.Fs.WithVnode(path, true, vp => Vop.GetXattr(vp, name, Credentials.Root, out _)),
                        $"getxattr {path} {name}");
                }
            }
            else
            {
                Is(Errno.ENODATA, c.Fs.WithVnode(path, true, vp => Vop.GetXattr(vp, "user.x", Credentials.Root, out _)),
                    $"getxattr {path} user.x");
            }
        }
    }
}
