using System.Globalization;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Msdosfs;

/// <summary>
/// The FAT options of mount_msdos(8), read from <see cref="MountOptions.Extra"/>: uid, gid,
/// mask, dirmask (octal), gmtoff (seconds east of UTC), shortnames, longnames, nowin95.
/// Anything else is refused with EINVAL and a message.
/// </summary>
internal sealed class MsdosOptions
{
    public uint Uid { get; private set; }
    public uint Gid { get; private set; }
    public uint Mask { get; private set; } = 0x1ED; // 0755
    public uint DirMask { get; private set; } = 0x1ED;
    public long? GmtOff { get; private set; }

    /// <summary>shortnames / nowin95: neither read nor write long names; 8.3 only.</summary>
    public bool ShortNamesOnly { get; private set; }

    public static Errno Parse(MountOptions options, out MsdosOptions parsed, out string? error)
    {
        parsed = new MsdosOptions();
        error = null;
        bool dirMaskGiven = false;
        foreach ((string key, string? value) in options.Extra)
        {
            switch (key)
            {
                case "uid":
                case "gid":
                    if (!uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint id))
                    {
                        error = $"{key}={value}: expected a number";
                        return Errno.EINVAL;
                    }
                    if (key == "uid")
                    {
                        parsed.Uid = id;
                    }
                    else
                    {
                        parsed.Gid = id;
                    }
                    break;
                case "mask":
                case "dirmask":
                    if (!TryOctal(value, out uint m))
                    {
                        error = $"{key}={value}: expected an octal mode";
                        return Errno.EINVAL;
                    }
                    if (key == "mask")
                    {
                        parsed.Mask = m;
                    }
                    else
                    {
                        parsed.DirMask = m;
                        dirMaskGiven = true;
                    }
                    break;
                case "gmtoff":
                    if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long off)
                        || Math.Abs(off) > 86400)
                    {
                        error = $"gmtoff={value}: expected seconds east of UTC";
                        return Errno.EINVAL;
                    }
                    parsed.GmtOff = off;
                    break;
                case "shortnames":
                case "nowin95":
                    parsed.ShortNamesOnly = true;
                    break;
                case "longnames":
                    parsed.ShortNamesOnly = false;
                    break;
                default:
                    error = $"unknown msdos option '{key}'";
                    return Errno.EINVAL;
            }
        }
        if (!dirMaskGiven)
        {
            // mount_msdos: without -M, directories get the file mask (plus search where read is allowed).
            uint m = parsed.Mask;
            parsed.DirMask = m | ((m & 0x124) >> 2);
        }
        return Errno.OK;
    }

    private static bool TryOctal(string? text, out uint value)
    {
        value = 0;
        if (string.IsNullOrEmpty(text) || text.Length > 5)
        {
            return false;
        }
        foreach (char c in text)
        {
            if (c is < '0' or > '7')
            {
                return false;
            }
            value = (value * 8) + (uint)(c - '0');
        }
        value &= 0x1FF;
        return true;
    }
}
