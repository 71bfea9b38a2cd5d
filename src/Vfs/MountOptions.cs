using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>
/// Options of one mount. The generic ones (ro, force, noatime, sync, cache=) are parsed
/// here; everything else is kept in <see cref="Extra"/> for the driver, which rejects what
/// it does not know with EINVAL and a message.
/// </summary>
public sealed class MountOptions
{
    public bool ReadOnly { get; set; }

    /// <summary>Mount read-write although the file system is not clean (-o force).</summary>
    public bool Force { get; set; }
    public bool NoAtime { get; set; }

    /// <summary>Every write reaches the device before the call returns (-o sync).</summary>
    public bool Synchronous { get; set; }

    /// <summary>Bound of the buffer cache in bytes (-o cache=SIZE).</summary>
    public long CacheBytes { get; set; } = 64L << 20;

    public IClock Clock { get; set; } = HostClock.Instance;

    /// <summary>Where generation numbers and other random choices come from (seeded: reproducible).</summary>
    public IRandomSource Random { get; set; } = HostRandom.Instance;

    /// <summary>Driver-specific options: name to value (null for a flag).</summary>
    public Dictionary<string, string?> Extra { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Parse "ro,noatime,uid=1000" (the -o syntax). Generic options are applied; the rest go
    /// to <see cref="Extra"/>. Sizes accept K, M, G suffixes.
    /// </summary>
    public static Errno Parse(string? text, out MountOptions options, out string? error)
    {
        options = new MountOptions();
        error = null;
        if (string.IsNullOrEmpty(text))
        {
            return Errno.OK;
        }
        foreach (string raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Errno e = options.Apply(raw, out error);
            if (e != Errno.OK)
            {
                return e;
            }
        }
        return Errno.OK;
    }

    /// <summary>Apply one option ("ro" or "cache=64M").</summary>
    public Errno Apply(string option, out string? error)
    {
        error = null;
        int eq = option.IndexOf('=', StringComparison.Ordinal);
        string name = eq < 0 ? option : option[..eq];
        string? value = eq < 0 ? null : option[(eq + 1)..];
        switch (name)
        {
            case "ro":
            case "rdonly":
                ReadOnly = true;
                break;
            case "rw":
                ReadOnly = false;
                break;
            case "force":
                Force = true;
                break;
            case "noatime":
                NoAtime = true;
                break;
            case "atime":
            case "relatime":
                NoAtime = false;
                break;
            case "sync":
                Synchronous = true;
                break;
            case "async":
                Synchronous = false;
                break;
            case "cache":
                if (value is null || !TryParseSize(value, out long bytes) || bytes < (1 << 20))
                {
                    error = $"cache={value}: expected a size of at least 1M";
                    return Errno.EINVAL;
                }
                CacheBytes = bytes;
                break;
            default:
                Extra[name] = value;
                break;
        }
        return Errno.OK;
    }

    /// <summary>Parse "512", "64K", "16M", "2G" into bytes.</summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        long multiplier = 1;
        char last = char.ToUpperInvariant(text[^1]);
        string digits = text;
        if (last is 'K' or 'M' or 'G' or 'T')
        {
            multiplier = last switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1L << 40 };
            digits = text[..^1];
        }
        if (!long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long n))
        {
            return false;
        }
        try
        {
            bytes = checked(n * multiplier);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }
}
