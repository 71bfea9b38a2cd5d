using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using RumpFs.Kernel;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>
/// newfs -T / SOURCE_DATE_EPOCH (reproducible-builds.org): one fixed time for everything the
/// file system records, and random choices (UUIDs, hash seeds, generation numbers) drawn
/// from a generator seeded with the command's own arguments. The same arguments and the
/// same host tree then give the same image, byte for byte.
/// </summary>
internal sealed class Reproducible
{
    private Reproducible(Timespec time, byte[] seed)
    {
        Time = time;
        Clock = new FixedClock(time);
        Random = new SeededRandom(seed);
    }

    /// <summary>The time every record gets; host files' times are clamped to it.</summary>
    public Timespec Time { get; }

    public IClock Clock { get; }

    /// <summary>One stream for the formatter and the copy after it, so they never repeat each other's numbers.</summary>
    public IRandomSource Random { get; }

    /// <summary>The time -T gives, else SOURCE_DATE_EPOCH; null when neither is given (an ordinary build).</summary>
    public static Timespec? TimeFrom(string? timestamp)
    {
        if (timestamp is not null)
        {
            return Format.ParseTime(timestamp, "newfs: -T");
        }
        return Environment.GetEnvironmentVariable("SOURCE_DATE_EPOCH") is { Length: > 0 } env
            ? Format.ParseTime(env, "newfs: SOURCE_DATE_EPOCH")
            : null;
    }

    /// <summary>A reproducible build at <paramref name="time"/>, seeded with the command's arguments; null for an ordinary build.</summary>
    public static Reproducible? For(Timespec? time, string fsType, IReadOnlyDictionary<string, string?> options, long deviceLength)
    {
        if (time is not Timespec t)
        {
            return null;
        }
        var seed = new StringBuilder("rumpfs newfs\n").Append(fsType).Append('\n');
        foreach ((string key, string? value) in options.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            seed.Append(key).Append('=').Append(value).Append('\n');
        }
        seed.Append(deviceLength.ToString(CultureInfo.InvariantCulture)).Append('\n').Append(t.Seconds.ToString(CultureInfo.InvariantCulture));
        return new Reproducible(t, SHA256.HashData(Encoding.UTF8.GetBytes(seed.ToString())));
    }
}
