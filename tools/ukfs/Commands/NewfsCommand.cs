using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Ukfs;
using RumpFs.Ukfs.Partitions;
using RumpFs.Vfs;

namespace RumpFs.Tools.Ukfs.Commands;

/// <summary>
/// newfs -t TYPE [-o OPTIONS] [-L LABEL] [--from DIR] [SIZE]: write an empty file system over
/// the image (or the selected partition), creating the image file with SIZE when it is
/// missing; then, with --from, copy a host tree in through the driver.
/// </summary>
internal static class NewfsCommand
{
    public static int Run(CommandContext ctx, NewfsOptions o)
    {
        string type = o.Type ?? ctx.FsType ?? throw new UsageException("newfs: give the file-system type with -t (msdos, ext2fs, ffs)");
        FsDrivers.AllDrivers.Register();
        IFileSystemFormatter formatter = FileSystemTools.FindFormatter(type) ?? throw new UsageException(
            $"newfs: cannot create {type} file systems yet (available: {string.Join(", ", Available())})");
        Dictionary<string, string?> options = ParseOptions(o);
        if (o.From is not null && !HostFiles.IsDirectory(o.From))
        {
            throw new UsageException($"newfs: --from {o.From}: no such folder on the host");
        }
        PrepareImage(ctx.Image, o.Size);
        using IBlockDevice device = DiskImage.Open(ctx.Image, readOnly: false);
        Reproducible? fixedTime = Reproducible.For(o.FixedTime, type, options, device.Length);
        if (fixedTime is not null)
        {
            formatter = formatter.With(fixedTime.Clock, fixedTime.Random);
        }
        Errno rc = formatter.Format(device, options, out string? message);
        if (rc != 0)
        {
            ctx.Error($"newfs: {ctx.Image}: {message ?? rc.Describe()}");
            return 1;
        }
        ctx.Out.WriteLine($"{ctx.Image}: {message}");
        if (o.From is not null)
        {
            using UkfsMount mount = UkfsMount.Open(type, device, new UkfsOptions { Clock = fixedTime?.Clock, Random = fixedTime?.Random });
            CopyIn.Populate(ctx, mount, o.From, fixedTime?.Time);
            mount.Unmount();
        }
        return 0;
    }

    private static IEnumerable<string> Available() =>
        new[] { "msdos", "ext2fs", "ffs" }.Where(t => FileSystemTools.FindFormatter(t) is not null);

    private static Dictionary<string, string?> ParseOptions(NewfsOptions o)
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (string item in (o.Options ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            result[eq < 0 ? item : item[..eq]] = eq < 0 ? null : item[(eq + 1)..];
        }
        if (o.Label is not null)
        {
            result["label"] = o.Label;
        }
        return result;
    }

    /// <summary>Create the image file with SIZE when it is missing; grow or shrink a whole-image file to SIZE.</summary>
    private static void PrepareImage(ImageSpec image, string? sizeText)
    {
        long? size = sizeText is null ? null : ParseSize(sizeText);
        if (image.Scheme is not null)
        {
            if (size is not null)
            {
                throw new UsageException("newfs: SIZE cannot be given for a partition; it has its own size");
            }
            return;
        }
        if (!File.Exists(image.Path))
        {
            if (size is null)
            {
                throw new UsageException($"newfs: {image.Path} does not exist; give its SIZE");
            }
            using var f = new FileStream(image.Path, FileMode.CreateNew, FileAccess.Write);
            f.SetLength(size.Value);
        }
        else if (size is not null)
        {
            using var f = new FileStream(image.Path, FileMode.Open, FileAccess.Write);
            f.SetLength(size.Value);
        }
    }

    internal static long ParseSize(string text)
    {
        if (!MountOptions.TryParseSize(text.Trim(), out long n) || n <= 0)
        {
            throw new UsageException($"newfs: bad SIZE '{text}' (bytes, or a number with K, M, G or T)");
        }
        return n;
    }
}
