using RumpFs.Kernel;

namespace RumpFs.Ukfs;

/// <summary>How <see cref="UkfsMount.Open(string?, string, UkfsOptions?)"/> opens and mounts an image.</summary>
public sealed class UkfsOptions
{
    /// <summary>Open the image read-only and mount read-only; every change then fails with EROFS.</summary>
    public bool ReadOnly { get; set; }

    /// <summary>Mount options in the -o syntax ("noatime,cache=16M", driver options too), or null.</summary>
    public string? MountOptions { get; set; }

    /// <summary>Who performs the operations (root by default); changeable later on the mount.</summary>
    public Credentials Credentials { get; set; } = Credentials.Root;

    /// <summary>The clock for timestamps, or null for the host's.</summary>
    public IClock? Clock { get; set; }

    /// <summary>
    /// Random choices (inode generation numbers), or null for the host's generator; a
    /// <see cref="SeededRandom"/> and a fixed clock make the same changes give the same image.
    /// </summary>
    public IRandomSource? Random { get; set; }
}
