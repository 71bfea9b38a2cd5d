using System.Text.Json;
using RumpFs.Kernel.Devices;
using RumpFs.Tools.Ukfs.Json;
using RumpFs.Ukfs;
using RumpFs.Ukfs.Partitions;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>df, probe, info.</summary>
internal static class InfoCommands
{
    private static DfJson ToDf(CommandContext ctx, StatVfs st) => new(
        ctx.Image.ToString(), ctx.Mount.FsType, st.BlockSize, st.FragmentSize, st.Blocks, st.BlocksFree, st.BlocksAvailable,
        st.Blocks * st.FragmentSize, st.BlocksFree * st.FragmentSize, st.BlocksAvailable * st.FragmentSize,
        st.Files, st.FilesFree, st.NameMax, st.ReadOnly);

    public static int Df(CommandContext ctx, DfOptions o)
    {
        DfJson df = ToDf(ctx, ctx.Mount.Statvfs());
        if (o.Json)
        {
            ctx.Out.WriteLine(JsonSerializer.Serialize(df, UkfsJsonContext.Default.DfJson));
            return 0;
        }
        long used = df.Bytes - df.BytesFree;
        long usable = used + df.BytesAvailable;
        int percent = usable <= 0 ? 0 : (int)Math.Ceiling(100.0 * used / usable);
        if (o.Human)
        {
            ctx.Out.WriteLine("Filesystem       Type      Size  Used Avail Use%   Inodes    IFree");
            ctx.Out.WriteLine($"{df.Image,-16} {df.FsType,-8} {Format.Human(df.Bytes),5} {Format.Human(used),5} {Format.Human(df.BytesAvailable),5} {percent,3}% {df.Files,8} {df.FilesFree,8}");
            return 0;
        }
        ctx.Out.WriteLine("Filesystem       Type     1K-blocks       Used  Available Use%   Inodes    IFree");
        ctx.Out.WriteLine($"{df.Image,-16} {df.FsType,-8} {df.Bytes / 1024,10} {used / 1024,10} {df.BytesAvailable / 1024,10} {percent,3}% {df.Files,8} {df.FilesFree,8}");
        return 0;
    }

    public static int Info(CommandContext ctx, InfoOptions o)
    {
        IReadOnlyList<KeyValuePair<string, string>> facts = ctx.Mount.Describe();
        DfJson df = ToDf(ctx, ctx.Mount.Statvfs());
        if (o.Json)
        {
            var info = new InfoJson(ctx.Image.ToString(), ctx.Mount.FsType, ctx.Mount.IsReadOnly,
                facts.GroupBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal), df);
            ctx.Out.WriteLine(JsonSerializer.Serialize(info, UkfsJsonContext.Default.InfoJson));
            return 0;
        }
        foreach (var r in InfoRows(df, facts))
        {
            ctx.Out.WriteLine(r);
        }
        return 0;
    }

    /// <summary>
    /// The text form of info: the driver's facts under the image and type, then what statvfs
    /// says, each key once. A driver's own "type" (ext4, FAT32) joins the driver's name on one
    /// line, and statvfs's counts are named "df" so they are not read as the superblock's.
    /// </summary>
    private static IEnumerable<string> InfoRows(DfJson df, IReadOnlyList<KeyValuePair<string, string>> facts)
    {
        string? variant = facts.FirstOrDefault(kv => kv.Key == "type").Value;
        var rows = new List<KeyValuePair<string, string>>
        {
            new("image", df.Image),
            new("type", variant is null ? df.FsType : $"{variant} ({df.FsType} driver)"),
        };
        rows.AddRange(facts.Where(kv => kv.Key != "type"));
        if (!facts.Any(kv => kv.Key == "block size"))
        {
            rows.Add(new("block size", Format.Invariant(df.BlockSize)));
        }
        if (df.FragmentSize != df.BlockSize && !facts.Any(kv => kv.Key == "fragment size"))
        {
            rows.Add(new("fragment size", Format.Invariant(df.FragmentSize)));
        }
        rows.Add(new("df blocks", $"{df.Blocks} of {df.FragmentSize} bytes ({df.BlocksFree} free, {df.BlocksAvailable} available)"));
        rows.Add(new("df inodes", $"{df.Files} ({df.FilesFree} free)"));
        int width = rows.Max(r => r.Key.Length);
        foreach (var r in rows)
        {
            yield return $"{(r.Key + ":").PadRight(width + 1)} {r.Value}";
        }
    }

    /// <summary>Partitions of the image and the file system in each (no mount; opened read-only).</summary>
    public static int Probe(CommandContext ctx, ProbeOptions o)
    {
        using IBlockDevice device = DiskImage.Open(ctx.Image, readOnly: true);
        FsTypeJson? whole = Identify(device);
        PartitionListing listing = PartitionProbe.Probe(device);
        var parts = new List<PartitionJson>();
        foreach (PartitionInfo p in listing.Partitions)
        {
            FsTypeJson? fs = null;
            if (p.Length > 0)
            {
                using var window = new WindowBlockDevice(device, p.Offset, p.Length);
                fs = Identify(window);
            }
            parts.Add(new PartitionJson(ctx.Image.Path + p.Selector, PartitionInfo.SchemeName(p.Scheme), p.Index, p.Offset,
                p.Length, p.TypeName, p.Label, fs));
        }
        var result = new ProbeJson(ctx.Image.ToString(), device.Length, whole, parts, [.. listing.Warnings]);
        if (o.Json)
        {
            ctx.Out.WriteLine(JsonSerializer.Serialize(result, UkfsJsonContext.Default.ProbeJson));
            return 0;
        }
        ctx.Out.WriteLine($"{result.Image}: {result.Size} bytes, {Describe(whole)}");
        foreach (PartitionJson p in parts)
        {
            string label = p.Label is null ? "" : $" \"{p.Label}\"";
            ctx.Out.WriteLine($"  {p.Selector}  offset {p.Offset}  length {p.Length}  {p.Type}{label}: {Describe(p.FileSystem)}");
        }
        foreach (string w in listing.Warnings)
        {
            ctx.Warn(w);
        }
        return 0;
    }

    private static string Describe(FsTypeJson? fs) => fs is null
        ? "no known file system"
        : $"{fs.Variant} ({fs.Driver}{(fs.DriverAvailable ? "" : ", driver not available")})";

    /// <summary>The registered drivers' probes first (the authority), then our own magic check for absent drivers.</summary>
    private static FsTypeJson? Identify(IBlockDevice device)
    {
        RumpFs.FsDrivers.AllDrivers.Register();
        FsTypeGuess? guess = FsTypeProbe.Identify(device);
        IFileSystemDriver? driver = FileSystemRegistry.Detect(device);
        if (driver is not null)
        {
            return new FsTypeJson(driver.Name, guess?.Driver == driver.Name ? guess.Variant : driver.Name, true);
        }
        return guess is null ? null : new FsTypeJson(guess.Driver, guess.Variant, false);
    }
}
