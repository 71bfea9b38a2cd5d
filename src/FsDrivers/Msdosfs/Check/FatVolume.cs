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
    private FatVolume(IBlockDevice device, FatBootRecord boot, byte[][] copies, int primary)
    {
        Device = device;
        Boot = boot;
        Copies = copies;
        Primary = primary;
        Entries = FatTable.Decode(copies[primary], boot.Kind, boot.ClusterCount + 2);
    }

    public IBlockDevice Device { get; }
    public FatBootRecord Boot { get; }
    public FatKind Kind => Boot.Kind;

    /// <summary>The raw bytes of each FAT copy, as read.</summary>
    public byte[][] Copies { get; }

    /// <summary>
    /// The copy the check trusts: the first that carries the FAT signature (fsck.fat, too,
    /// takes the second FAT when only that one does).
    /// </summary>
    public int Primary { get; }

    /// <summary>
    /// Set when the boot sector is damaged (see <see cref="BootDamage"/>) and the FAT32
    /// backup boot sector is sound: the check runs on the backup's layout, and this is the
    /// sector it came from; a repair copies it over the boot sector.
    /// </summary>
    public int BootFromBackup { get; internal set; }

    /// <summary>The boot sector used lacks 0x55AA (which the driver's type detection requires).</summary>
    public bool BootSignatureMissing { get; internal set; }

    /// <summary>With <see cref="BootFromBackup"/>, what is wrong with the boot sector ("is not a valid ...").</summary>
    public string? BootDamage { get; internal set; }

    /// <summary>The decoded primary FAT (index = cluster number), including entries 0 and 1.</summary>
    public uint[] Entries { get; }

    /// <summary>FAT32 with mirroring off and the active FAT trusted: the other copies are stale by design.</summary>
    public bool MirroringOff => Boot.Bpb.MirroringOff && Primary == Boot.Bpb.ActiveFat;

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
        FatBootRecord? boot = FatBootRecord.Parse(sector, device.Length, out string? parseError);
        FatVolume? fromBoot = null;
        string? damage;
        if (boot is null)
        {
            damage = "is not a valid FAT boot sector (" + parseError + ")";
        }
        else
        {
            rc = ReadCopies(device, boot, out byte[][]? copies, out error);
            if (rc != 0 || copies is null)
            {
                return rc;
            }
            int primary = FirstWithSignature(boot, copies);
            fromBoot = primary < 0 ? null : new FatVolume(device, boot, copies, primary);
            damage = fromBoot is null
                ? "puts the FATs where none starts with the FAT signature"
                : FatBootChoice.Damage(fromBoot);
        }
        if (damage is not null && FatBootChoice.FromBackup(device, sector, boot) is { } fromBackup)
        {
            fromBackup.BootDamage = damage;
            volume = fromBackup;
            error = null;
            return 0;
        }
        if (fromBoot is not null)
        {
            // Damage without a usable backup is left to the checks that follow (a root
            // cluster that cannot be used is refused there).
            fromBoot.BootSignatureMissing = !FatBootChoice.HasBootSignature(sector);
            volume = fromBoot;
            error = null;
            return 0;
        }
        // Checked on this layout, every cluster number would be read from the wrong place
        // and a repair would truncate every file: better to change nothing.
        error = boot is null ? parseError
            : $"no FAT copy starts with the media byte 0x{boot.Media:X2} and an end-of-chain mark where the boot sector "
            + "puts it: the boot sector's layout is wrong or every FAT copy is damaged; nothing was changed";
        return Errno.EINVAL;
    }

    /// <summary>The volume as <paramref name="boot"/> lays it out, when a FAT copy found there carries the signature; else null.</summary>
    internal static FatVolume? Load(IBlockDevice device, FatBootRecord boot)
    {
        if (ReadCopies(device, boot, out byte[][]? copies, out _) != 0 || copies is null)
        {
            return null;
        }
        int primary = FirstWithSignature(boot, copies);
        return primary < 0 ? null : new FatVolume(device, boot, copies, primary);
    }

    private static Errno ReadCopies(IBlockDevice device, FatBootRecord boot, out byte[][]? copies, out string? error)
    {
        copies = null;
        error = null;
        if (boot.FatBytes > int.MaxValue / 2)
        {
            error = $"FAT of {boot.FatBytes} bytes is too large";
            return Errno.EINVAL;
        }
        var read = new byte[boot.NumFats][];
        for (int i = 0; i < boot.NumFats; i++)
        {
            read[i] = new byte[boot.FatBytes];
            Errno rc = device.Read(boot.FatOffset + i * boot.FatBytes, read[i]);
            if (rc != 0)
            {
                error = $"cannot read FAT copy {i + 1}: {rc}";
                return rc;
            }
        }
        copies = read;
        return 0;
    }

    /// <summary>
    /// With FAT32 mirroring off (BPB_ExtFlags bit 7) only the active FAT is kept up to date,
    /// and the driver reads and writes that one alone, as NetBSD's msdosfs does: it is the
    /// one to trust when it carries the signature. Otherwise the first copy that does.
    /// </summary>
    private static int FirstWithSignature(FatBootRecord boot, byte[][] copies)
    {
        if (boot.Bpb.MirroringOff && boot.Bpb.ActiveFat < copies.Length
            && FatSignature.IsPresent(copies[boot.Bpb.ActiveFat], boot.Bpb.Type, boot.Media))
        {
            return boot.Bpb.ActiveFat;
        }
        for (int i = 0; i < copies.Length; i++)
        {
            if (FatSignature.IsPresent(copies[i], boot.Bpb.Type, boot.Media))
            {
                return i;
            }
        }
        return -1;
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

    /// <summary>
    /// Add a free cluster to the chain ending at <paramref name="last"/>: the first free one
    /// after it, wrapping round at the end of the volume (fsck.fat's choice when it grows the
    /// root). Returns it, or 0 when no cluster is free.
    /// </summary>
    public uint GrowChain(uint last)
    {
        long count = Boot.MaxCluster - 1;
        uint c = last;
        for (long i = 0; i < count; i++)
        {
            c = c >= Boot.MaxCluster ? 2 : c + 1;
            if (Value(c) == FatTable.Free)
            {
                Set(last, c);
                Set(c, FatTable.EndMark(Kind));
                return c;
            }
        }
        return 0;
    }

    /// <summary>Encode the table into every copy and write them.</summary>
    public Errno WriteFats()
    {
        byte[] first = Copies[Primary];
        for (long i = 0; i < Entries.Length; i++)
        {
            FatTable.Set(first, Kind, i, Entries[i]);
        }
        for (int copy = 0; copy < Boot.NumFats; copy++)
        {
            if (MirroringOff && copy != Primary)
            {
                continue; // the inactive copies are not kept, as the driver keeps them not
            }
            Errno rc = Device.Write(Boot.FatOffset + copy * Boot.FatBytes, first);
            if (rc != 0)
            {
                return rc;
            }
        }
        return 0;
    }
}
