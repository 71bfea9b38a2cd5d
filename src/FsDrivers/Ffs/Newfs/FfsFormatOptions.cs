using System.Globalization;
using System.Text;

namespace RumpFs.FsDrivers.Ffs.Newfs;

/// <summary>
/// newfs options for FFS, from the formatter's option dictionary. The names follow makefs's
/// <c>-o</c> options rather than newfs's letters: <c>version=1|2|3</c> (newfs -O: UFS1, UFS2, FFSv2ea; default 2),
/// <c>endian=little|big</c> (or le|be, newfs -B; default little), <c>bsize=</c> and
/// <c>fsize=</c> (bytes), <c>density=</c> (bytes of data per inode), <c>minfree=</c>
/// (percent), <c>optimization=time|space</c>, <c>label=</c> (UFS2 volume name),
/// <c>posix1eacls</c> (FS_POSIX1EACLS in fs_flags, as NetBSD's tunefs -p enable sets it
/// afterwards; FFSv2ea only).
/// Unset sizes are left null for <see cref="FfsGeometry"/> to choose from the device size.
/// </summary>
internal sealed class FfsFormatOptions
{
    /// <summary>MINBSIZE and MAXBSIZE of fs.h: the block sizes a kernel mounts.</summary>
    public const int MinBsize = 4096;
    public const int MaxBsize = 65536;

    /// <summary>Bytes of fs_volname, including its terminating NUL.</summary>
    public const int VolNameBytes = 32;

    public int Version { get; private set; } = 2;
    public bool BigEndian { get; private set; }
    public int? Bsize { get; private set; }
    public int? Fsize { get; private set; }
    public int? Density { get; private set; }
    public int MinFree { get; private set; } = FfsGeometry.DefaultMinFree;

    /// <summary>fs_optim: 0 time (FS_OPTTIME), 1 space (FS_OPTSPACE); null until chosen.</summary>
    public int? Optim { get; private set; }
    public string? Label { get; private set; }

    /// <summary>Set FS_POSIX1EACLS: mounts keep POSIX.1e ACLs without -o posix1eacls.</summary>
    public bool PosixAcls { get; private set; }

    public static FfsFormatOptions? Parse(IReadOnlyDictionary<string, string?> options, out string? error)
    {
        error = null;
        var o = new FfsFormatOptions();
        foreach ((string key, string? value) in options)
        {
            error = o.Apply(key, value);
            if (error is not null)
            {
                return null;
            }
        }
        error = o.CheckTogether();
        return error is null ? o : null;
    }

    private string? Apply(string key, string? value)
    {
        switch (key)
        {
            case "version":
                if (value is not ("1" or "2" or "3"))
                {
                    return $"version={value}: must be 1 (UFS1), 2 (UFS2) or 3 (UFS2 with extended attributes, FFSv2ea)";
                }
                Version = value[0] - '0';
                return null;
            case "endian":
                bool? big = value switch
                {
                    "little" or "le" => false,
                    "big" or "be" => true,
                    _ => null,
                };
                if (big is null)
                {
                    return $"endian={value}: must be little (le) or big (be)";
                }
                BigEndian = big.Value;
                return null;
            case "bsize":
                if (!TryInt(value, out int b) || !IsPow2(b) || b < MinBsize || b > MaxBsize)
                {
                    return $"bsize={value}: must be a power of two from {MinBsize} to {MaxBsize} bytes";
                }
                Bsize = b;
                return null;
            case "fsize":
                if (!TryInt(value, out int f) || !IsPow2(f) || f < 512 || f > MaxBsize)
                {
                    return $"fsize={value}: must be a power of two from 512 to {MaxBsize} bytes";
                }
                Fsize = f;
                return null;
            case "density":
                if (!TryInt(value, out int d) || d < 1)
                {
                    return $"density={value}: must be a positive number of bytes per inode";
                }
                Density = d;
                return null;
            case "minfree":
                if (!TryInt(value, out int m) || m > 99)
                {
                    return $"minfree={value}: must be a percentage from 0 to 99";
                }
                MinFree = m;
                return null;
            case "optimization":
                Optim = value switch
                {
                    "time" => 0,
                    "space" => 1,
                    _ => null,
                };
                return Optim is null ? $"optimization={value}: must be time or space" : null;
            case "label":
                if (value is null || value.Contains('\0', StringComparison.Ordinal)
                    || Encoding.UTF8.GetByteCount(value) >= VolNameBytes)
                {
                    return $"label={value}: at most {VolNameBytes - 1} bytes";
                }
                Label = value.Length == 0 ? null : value;
                return null;
            case "posix1eacls":
                if (value is not null)
                {
                    return $"posix1eacls={value}: takes no value";
                }
                PosixAcls = true;
                return null;
            default:
                return $"unknown ffs newfs option '{key}' (known: version, endian, bsize, fsize, density, minfree, optimization, label, posix1eacls)";
        }
    }

    /// <summary>Fill in the size a user left out from the one given, and check the pair (mkfs.c's checks).</summary>
    private string? CheckTogether()
    {
        if (Bsize is int b && Fsize is null)
        {
            Fsize = b / FfsSuperblock.MaxFrag;
        }
        else if (Fsize is int f && Bsize is null)
        {
            Bsize = Math.Clamp(f * FfsSuperblock.MaxFrag, MinBsize, MaxBsize);
        }
        if (Bsize is int bs && Fsize is int fs)
        {
            if (fs > bs)
            {
                return $"fsize={fs} is larger than bsize={bs}";
            }
            if (bs / fs > FfsSuperblock.MaxFrag)
            {
                return $"fsize={fs} is too small for bsize={bs} (at most {FfsSuperblock.MaxFrag} fragments a block: fsize >= {bs / FfsSuperblock.MaxFrag})";
            }
        }
        if (PosixAcls && Version != 3)
        {
            // tunefs -p refuses plain UFS2 ("not supported by this fs"); UFS1 would keep them
            // in backing files, which this driver does not read.
            return "posix1eacls needs version=3 (FFSv2ea): ACLs are kept in the inode's extended-attribute area";
        }
        if (Label is not null && Version == 1)
        {
            // UFS1 superblocks of 4.4BSD kept a longer fs_fsmnt where fs_volname now is.
            return "label= needs UFS2 (version=2): UFS1 has no volume name";
        }
        return null;
    }

    private static bool IsPow2(int v) => v > 0 && (v & (v - 1)) == 0;

    private static bool TryInt(string? s, out int value) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
