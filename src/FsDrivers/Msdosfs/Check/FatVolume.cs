using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// The checker's in-core view of a FAT volume: the boot record, the first FAT decoded and
/// the raw bytes of every copy. Repairs change the decoded table; <see cref="WriteFats"/>
/// writes it to every copy at the end, as fsck_msdos does.
/// </summary>
internal sealed class FatVolume
{
    private FatVolume(IBlockDevice device, FatBootRecord boot, byte[][] copies)
    {
        Device = device;
        Boot = boot;
        Copies = copies;
        Entries = FatTable.Decode(copies[0], boot.Kind, boot.ClusterCount + 2);
    }

    public IBlockDevice Device { get; }
    public FatBootRecord Boot { get; }
    public FatKind Kind => Boot.Kind;

    /// <summary>The raw bytes of each FAT copy, as read.</summary>
    public byte[][] Copies { get; }

    /// <summary>The decoded first FAT (index = cluster number), including entries 0 and 1.</summary>
    public uint[] Entries { get; }

    /// <summary>True once a repair changed <see cref="Entries"/>.</summary>
    public bool FatChanged { get; set; }

    public static Errno Open(IBlockDevice device, out FatVolume? volume, out string? error)
    {
        volume = null;
        var sector = new byte[512];
        Errno rc = device.Read(0, sector);
        if (rc != 0)
        {
            error = $"cannot read the boot sector: {rc}";
            return rc;
        }
        FatBootRecord? boot = FatBootRecord.Parse(sector, device.Length, out error);
        if (boot is null)
        {
            return Errno.EINVAL;
        }
        if (boot.FatBytes > int.MaxValue / 2)
        {
            error = $"FAT of {boot.FatBytes} bytes is too large";
            return Errno.EINVAL;
        }
        var copies = new byte[boot.NumFats][];
        for (int i = 0; i < boot.NumFats; i++)
        {
            copies[i] = new byte[boot.FatBytes];
            rc = device.Read(boot.FatOffset + i * boot.FatBytes, copies[i]);
            if (rc != 0)
            {
                error = $"cannot read FAT copy {i + 1}: {rc}";
                return rc;
            }
        }
        volume = new FatVolume(device, boot, copies);
        return 0;
    }

    public bool IsValidCluster(uint c) => c >= 2 && c <= Boot.MaxCluster;

    public uint Value(uint cluster) => FatTable.Value(Entries[cluster], Kind);

    public bool IsEnd(uint value) => value >= FatTable.EndOfChain(Kind);

    public bool IsBad(uint value) => value == FatTable.Bad(Kind);

    public void Set(uint cluster, uint value)
    {
        Entries[cluster] = value;
        FatChanged = true;
    }

    /// <summary>Encode the table into every copy and write them.</summary>
    public Errno WriteFats()
    {
        byte[] first = Copies[0];
        for (long i = 0; i < Entries.Length; i++)
        {
            FatTable.Set(first, Kind, i, Entries[i]);
        }
        for (int copy = 0; copy < Boot.NumFats; copy++)
        {
            Errno rc = Device.Write(Boot.FatOffset + copy * Boot.FatBytes, first);
            if (rc != 0)
            {
                return rc;
            }
        }
        return 0;
    }
}
