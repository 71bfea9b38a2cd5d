using RumpFs.FsDrivers.Msdosfs.Check;

namespace RumpFs.FsDrivers.Msdosfs.Newfs;

/// <summary>
/// The layout newfs writes: sectors, cluster size, FAT type and size. The FAT type follows
/// the cluster count (below 4085 FAT12, below 65525 FAT16), so choosing a type means
/// choosing a cluster size that puts the count in its range, as mkfs.fat does: volumes of
/// 512 MiB and more get FAT32, smaller ones FAT12 or FAT16 with 2 KiB clusters or larger.
/// </summary>
internal sealed record FatGeometry(FatKind Kind, int SectorBytes, long TotalSectors, int SectorsPerCluster,
    int ReservedSectors, int Fats, int RootEntries, long FatSectors, long ClusterCount)
{
    public const long Fat12MaxClusters = 4084;
    public const long Fat16MaxClusters = 65524;
    public const long Fat32MaxClusters = 0x0FFFFFF5;

    public int ClusterBytes => SectorBytes * SectorsPerCluster;
    public int RootDirSectors => RootEntries * 32 / SectorBytes;
    public long DataStartSector => ReservedSectors + Fats * FatSectors + RootDirSectors;

    public static FatGeometry? Choose(long deviceBytes, FatFormatOptions o, out string? error)
    {
        error = null;
        long totalSectors = Math.Min(deviceBytes / o.SectorBytes, uint.MaxValue);
        if (totalSectors < 64)
        {
            error = $"{deviceBytes} bytes is too small for a FAT file system";
            return null;
        }
        long bytes = totalSectors * o.SectorBytes;
        int bits = o.FatBits ?? (bytes >= 512L << 20 ? 32 : 0);
        if (bits == 32)
        {
            int cluster = o.ClusterBytes ?? DefaultFat32Cluster(bytes);
            return Fit(FatKind.Fat32, totalSectors, o, cluster, o.ClusterBytes is null, out error);
        }
        if (bits == 0)
        {
            // Automatic: the smallest of FAT12, FAT16 whose range the count falls in.
            int cluster = Math.Max(o.ClusterBytes ?? 2048, o.SectorBytes);
            while (true)
            {
                FatGeometry g = Layout(FatKind.Fat16, totalSectors, o, cluster);
                if (g.ClusterCount <= Fat12MaxClusters)
                {
                    return Fit(FatKind.Fat12, totalSectors, o, cluster, false, out error);
                }
                if (g.ClusterCount <= Fat16MaxClusters)
                {
                    return g;
                }
                if (o.ClusterBytes is not null || cluster >= 32768)
                {
                    return Fit(FatKind.Fat32, totalSectors, o, o.ClusterBytes ?? DefaultFat32Cluster(bytes),
                        o.ClusterBytes is null, out error);
                }
                cluster *= 2;
            }
        }
        FatKind kind = bits == 12 ? FatKind.Fat12 : FatKind.Fat16;
        return Fit(kind, totalSectors, o, o.ClusterBytes ?? 2048, o.ClusterBytes is null, out error);
    }

    /// <summary>Layout with the given cluster size, adjusting it (when free to) until the count suits the kind.</summary>
    private static FatGeometry? Fit(FatKind kind, long totalSectors, FatFormatOptions o, int cluster, bool adjust,
        out string? error)
    {
        error = null;
        (long min, long max) = kind switch
        {
            FatKind.Fat12 => (1L, Fat12MaxClusters),
            FatKind.Fat16 => (Fat12MaxClusters + 1, Fat16MaxClusters),
            _ => (Fat16MaxClusters + 1, Fat32MaxClusters),
        };
        cluster = Math.Max(cluster, o.SectorBytes);
        FatGeometry g = Layout(kind, totalSectors, o, cluster);
        while (adjust && g.ClusterCount > max && cluster < 65536)
        {
            cluster *= 2;
            g = Layout(kind, totalSectors, o, cluster);
        }
        while (adjust && g.ClusterCount < min && cluster > o.SectorBytes)
        {
            cluster /= 2;
            g = Layout(kind, totalSectors, o, cluster);
        }
        if (g.ClusterCount < min || g.ClusterCount > max)
        {
            error = $"FAT{(int)kind} needs {min}..{max} clusters; {totalSectors * o.SectorBytes} bytes with " +
                $"{cluster}-byte clusters gives {g.ClusterCount}";
            return null;
        }
        return g;
    }

    private static int DefaultFat32Cluster(long bytes) => bytes switch
    {
        < 260L << 20 => 512,
        < 8L << 30 => 4096,
        < 16L << 30 => 8192,
        < 32L << 30 => 16384,
        _ => 32768,
    };

    /// <summary>Compute the FAT size by fixed point: the FAT must cover the clusters that remain after it.</summary>
    private static FatGeometry Layout(FatKind kind, long totalSectors, FatFormatOptions o, int clusterBytes)
    {
        int spc = clusterBytes / o.SectorBytes;
        int reserved = kind == FatKind.Fat32 ? 32 : 1;
        int perSector = o.SectorBytes / 32;
        int rootEntries = kind == FatKind.Fat32 ? 0
            : ((o.RootEntries ?? 512) + perSector - 1) / perSector * perSector;
        long rootSectors = rootEntries * 32L / o.SectorBytes;
        long fatSectors = 1;
        long clusters;
        while (true)
        {
            long data = totalSectors - reserved - o.Fats * fatSectors - rootSectors;
            clusters = Math.Max(0, data / spc);
            long fatBytes = kind switch
            {
                FatKind.Fat12 => ((clusters + 2) * 3 + 1) / 2,
                FatKind.Fat16 => (clusters + 2) * 2,
                _ => (clusters + 2) * 4,
            };
            long need = (fatBytes + o.SectorBytes - 1) / o.SectorBytes;
            if (need <= fatSectors)
            {
                break;
            }
            fatSectors = need;
        }
        return new FatGeometry(kind, o.SectorBytes, totalSectors, spc, reserved, o.Fats, rootEntries, fatSectors, clusters);
    }
}
