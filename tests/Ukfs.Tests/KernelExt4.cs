using RumpFs.TestSupport;

namespace RumpFs.Ukfs.Tests;

/// <summary>
/// A host tool run on the kernel's own ext4 driver, the reference the CLI tests compare
/// with: the image is loop-mounted (read-only unless asked), the script runs from the
/// mount's root with the arguments as "$@", and the mount is always taken down. Null where
/// this machine cannot loop-mount.
/// </summary>
internal static class KernelExt4
{
    public static string? Run(ScratchDir dir, string img, string script, bool readOnly = true, params string[] args)
    {
        string mnt = dir.File("mnt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(mnt);
        if (OracleTool.Run("mount", "-o", readOnly ? "loop,ro" : "loop", "-t", "ext4", img, mnt).ExitCode != 0)
        {
            return null;
        }
        try
        {
            return OracleTool.Run("bash", ["-c", "cd \"$1\" && shift && " + script, "bash", mnt, .. args]).Stdout;
        }
        finally
        {
            if (OracleTool.Run("umount", mnt).ExitCode != 0)
            {
                OracleTool.Run("umount", "-l", mnt);
            }
        }
    }
}
