using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.Ukfs.Partitions;

/// <summary>Opens an image (and a partition of it) as a block device.</summary>
public static class DiskImage
{
    /// <summary>
    /// Open the image of <paramref name="spec"/>, and when it selects a partition, return a
    /// <see cref="WindowBlockDevice"/> onto it that owns the image (disposing the window closes
    /// the file). Nothing can be read or written outside the chosen partition.
    /// </summary>
    /// <exception cref="UkfsException">The image cannot be opened or has no such partition.</exception>
    public static IBlockDevice Open(ImageSpec spec, bool readOnly)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Errno e = FileBlockDevice.Open(spec.Path, readOnly, out FileBlockDevice? file, out string? error);
        if (e != Errno.OK)
        {
            throw new UkfsException(e, spec.Path, error ?? $"{spec.Path}: {e.Describe()}");
        }
        if (spec.Scheme is null)
        {
            return file!;
        }
        try
        {
            PartitionInfo part = Select(file!, spec);
            return new WindowBlockDevice(file!, part.Offset, part.Length, ownsInner: true);
        }
        catch
        {
            file!.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Open "image[%PART%]" without throwing: the errno and a one-line message on failure.
    /// The FUSE daemons use this to accept the partition syntax.
    /// </summary>
    /// <param name="imageSpec">The image, optionally with a partition selection.</param>
    /// <param name="readOnly">Open without write access.</param>
    /// <param name="device">The device (a window onto the partition when one is selected).</param>
    /// <param name="error">One line for the user on failure.</param>
    public static Errno TryOpen(string imageSpec, bool readOnly, out IBlockDevice? device, out string? error)
    {
        device = null;
        error = null;
        try
        {
            device = Open(ImageSpec.Parse(imageSpec), readOnly);
            return Errno.OK;
        }
        catch (UkfsException e)
        {
            error = e.Message;
            return e.Errno;
        }
        catch (ArgumentException e)
        {
            error = e.Message;
            return Errno.EINVAL;
        }
    }

    /// <summary>The partition <paramref name="spec"/> selects on <paramref name="device"/>.</summary>
    /// <exception cref="UkfsException">ENXIO when there is no such partition; the message lists what there is.</exception>
    public static PartitionInfo Select(IBlockDevice device, ImageSpec spec)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(spec);
        PartitionListing listing = PartitionProbe.Probe(device);
        PartitionInfo? hit = listing.Partitions.FirstOrDefault(p => p.Scheme == spec.Scheme && p.Index == spec.Index);
        if (hit is not null)
        {
            return hit;
        }
        string scheme = PartitionInfo.SchemeName(spec.Scheme!.Value);
        var same = listing.Partitions.Where(p => p.Scheme == spec.Scheme).Select(p => p.Index).ToList();
        string why = same.Count == 0
            ? $"no {scheme} partition table found"
            : $"no partition {spec.Index} in the {scheme} table (it has {string.Join(", ", same)})";
        if (listing.Warnings.Count > 0)
        {
            why += "; " + string.Join("; ", listing.Warnings);
        }
        throw new UkfsException(Errno.ENXIO, spec.ToString(), $"{spec}: {why}");
    }
}
