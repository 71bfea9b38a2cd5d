using System.Globalization;

namespace RumpFs.FsDrivers.Msdosfs.Newfs;

/// <summary>
/// newfs_msdos options, from the formatter's option dictionary:
/// <c>fat=12|16|32</c>, <c>cluster=BYTES</c>, <c>sector=512|1024|2048|4096</c>,
/// <c>label=NAME</c>, <c>id=HEX</c> (volume serial), <c>rootentries=N</c>, <c>fats=1|2</c>.
/// </summary>
internal sealed class FatFormatOptions
{
    public int? FatBits { get; private set; }
    public int? ClusterBytes { get; private set; }
    public int SectorBytes { get; private set; } = 512;
    public string? Label { get; private set; }
    public uint? VolumeId { get; private set; }
    public int? RootEntries { get; private set; }
    public int Fats { get; private set; } = 2;

    public static FatFormatOptions? Parse(IReadOnlyDictionary<string, string?> options, out string? error)
    {
        error = null;
        var o = new FatFormatOptions();
        foreach ((string key, string? value) in options)
        {
            switch (key)
            {
                case "fat":
                case "type":
                    o.FatBits = value switch
                    {
                        "12" or "fat12" => 12,
                        "16" or "fat16" => 16,
                        "32" or "fat32" => 32,
                        _ => null,
                    };
                    if (o.FatBits is null)
                    {
                        error = $"fat={value}: must be 12, 16 or 32";
                    }
                    break;
                case "cluster":
                    if (!TryInt(value, out int cb) || cb < 512 || cb > 65536 || (cb & (cb - 1)) != 0)
                    {
                        error = $"cluster={value}: must be a power of two from 512 to 65536 bytes";
                    }
                    o.ClusterBytes = cb;
                    break;
                case "sector":
                    if (!TryInt(value, out int sb) || sb is not (512 or 1024 or 2048 or 4096))
                    {
                        error = $"sector={value}: must be 512, 1024, 2048 or 4096";
                    }
                    o.SectorBytes = sb;
                    break;
                case "label":
                    string label = (value ?? "").ToUpperInvariant();
                    if (label.Length > 11 || label.Any(c => c < 0x20 || c > 0x7E || "*?<>|\"\\/:.+,;=[]".Contains(c)))
                    {
                        error = $"label={value}: at most 11 printable characters, none of *?<>|\"\\/:.+,;=[]";
                    }
                    o.Label = label.Length == 0 ? null : label;
                    break;
                case "id":
                    if (!uint.TryParse(value, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint id))
                    {
                        error = $"id={value}: must be a hexadecimal serial number";
                    }
                    o.VolumeId = id;
                    break;
                case "rootentries":
                    if (!TryInt(value, out int re) || re < 16 || re > 4096)
                    {
                        error = $"rootentries={value}: must be from 16 to 4096";
                    }
                    o.RootEntries = re;
                    break;
                case "fats":
                    if (!TryInt(value, out int nf) || nf is < 1 or > 2)
                    {
                        error = $"fats={value}: must be 1 or 2";
                    }
                    o.Fats = nf;
                    break;
                default:
                    error = $"unknown msdos newfs option '{key}' (known: fat, cluster, sector, label, id, rootentries, fats)";
                    break;
            }
            if (error is not null)
            {
                return null;
            }
        }
        if (o.ClusterBytes is int c && c < o.SectorBytes)
        {
            error = $"cluster={c} is smaller than the sector size {o.SectorBytes}";
            return null;
        }
        return o;
    }

    private static bool TryInt(string? s, out int value) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
