using System.Buffers.Binary;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// fsck for FAT12/16/32 in the spirit of fsck_msdos and fsck.fat: boot sector, FAT copies,
/// the directory tree with every cluster chain, lost clusters, FSInfo. With repair it fixes
/// what fsck.fat -a fixes (the first FAT wins, bad chains are truncated, sizes follow the
/// chains, lost clusters are saved as FSCKnnnn.REC files, bad names renamed, orphaned long
/// names deleted).
/// </summary>
public sealed class FatChecker : IFileSystemChecker
{
    /// <summary>FSInfo's "not known" value for the free count and the next-free hint.</summary>
    private const uint UnknownCount = 0xFFFFFFFF;

    private readonly IClock _clock;

    /// <summary>A checker that stamps the files it makes with the host's time.</summary>
    public FatChecker()
        : this(HostClock.Instance)
    {
    }

    /// <summary>A checker that stamps the files it makes (FSCKnnnn.REC) with <paramref name="clock"/>'s time.</summary>
    public FatChecker(IClock clock) => _clock = clock;

    public string FsType => "msdos";

    public CheckReport Check(IBlockDevice device, bool repair)
    {
        ArgumentNullException.ThrowIfNull(device);
        var report = new CheckReport();
        if (repair && device.IsReadOnly)
        {
            report.OperationalError = "the device is read-only; cannot repair";
            return report;
        }
        Errno rc = FatVolume.Open(device, out FatVolume? v, out string? error);
        if (rc != 0 || v is null)
        {
            report.OperationalError = "not a usable FAT file system: " + error;
            return report;
        }
        CheckBootSector(v, report, repair);
        CheckCleanShutdownBit(v, report, repair);
        bool copiesDiffer = CheckFatCopies(v, report, repair);
        CheckFatValues(v, report, repair);
        var tree = new FatTreeCheck(v, report, repair);
        tree.Run();
        if (report.OperationalError is not null)
        {
            return report;
        }
        long freeAsFound = CountFree(v);
        long lost = SaveLostClusters(v, tree, report, repair);
        if (tree.Root is not null && report.OperationalError is null)
        {
            FatLabelCheck.Run(v, tree.Root, report, repair);
        }
        if (v.Kind == FatKind.Fat32)
        {
            CheckFsInfo(v, CountFree(v), freeAsFound, lost, report, repair);
        }
        if (repair)
        {
            rc = tree.WriteError;
            if (rc == 0 && (v.FatChanged || copiesDiffer))
            {
                rc = v.WriteFats();
            }
            if (rc == 0)
            {
                rc = device.Flush();
            }
            if (rc != 0)
            {
                report.OperationalError ??= $"writing repairs failed: {rc}";
            }
        }
        return report;
    }

    private static void CheckBootSector(FatVolume v, CheckReport report, bool repair)
    {
        if (v.BootFromBackup != 0)
        {
            RestoreBootSector(v, report, repair);
        }
        if (v.BootSignatureMissing)
        {
            // fsck.fat does not look at it; without it the volume is not recognised as FAT.
            report.Add("boot", "boot sector", "the boot sector lacks the signature 0x55AA; written", repair);
            var sector = new byte[512];
            var backup = new byte[512];
            long backupAt = (long)v.Boot.BackupBootSector * v.Boot.BytesPerSector;
            // A backup boot sector that is the same sector, unsigned too, is signed with it:
            // left alone, it would differ from the boot sector from then on.
            bool signBackup = v.Kind == FatKind.Fat32 && v.Boot.BackupBootSector != 0 && v.Boot.BackupBootSector < v.Boot.ReservedSectors
                && v.Device.Read(0, sector) == 0 && v.Device.Read(backupAt, backup) == 0 && sector.AsSpan().SequenceEqual(backup);
            if (repair && v.Device.Read(0, sector) == 0)
            {
                sector[FatBootRecord.Offsets.Signature] = 0x55;
                sector[FatBootRecord.Offsets.Signature + 1] = 0xAA;
                v.Device.Write(0, sector);
                if (signBackup)
                {
                    v.Device.Write(backupAt, sector);
                }
            }
        }
        if (v.Boot.HasExtendedBpb && (v.Boot.State & FatBootRecord.StateDirty) != 0)
        {
            report.Add("boot", "boot sector", "dirty bit is set: the file system was not properly unmounted; clearing it", repair);
            if (repair)
            {
                var sector = new byte[512];
                if (v.Device.Read(0, sector) == 0)
                {
                    sector[v.Boot.ExtOffset + FatBootRecord.Offsets.ExtState] &= unchecked((byte)~FatBootRecord.StateDirty);
                    v.Device.Write(0, sector);
                }
            }
        }
        if (v.Kind == FatKind.Fat32 && v.BootFromBackup == 0 && v.Boot.BackupBootSector == 0)
        {
            MakeBackupBootSector(v, report, repair);
        }
        if (v.Kind == FatKind.Fat32 && v.BootFromBackup == 0 && v.Boot.BackupBootSector != 0 && v.Boot.BackupBootSector < v.Boot.ReservedSectors)
        {
            var main = new byte[512];
            var backup = new byte[512];
            if (v.Device.Read(0, main) == 0
                && v.Device.Read((long)v.Boot.BackupBootSector * v.Boot.BytesPerSector, backup) == 0
                && !main.AsSpan().SequenceEqual(backup))
            {
                // fsck.fat reports this but does not change it on its own either.
                report.Note("boot", $"sector {v.Boot.BackupBootSector}", "the backup boot sector differs from the boot sector");
            }
        }
    }

    /// <summary>
    /// A FAT32 boot sector naming no backup (field 0): fsck.fat makes one, in sector 6 when
    /// the reserved area reaches past it and the FSInfo sector is elsewhere, else in the last
    /// reserved sector not taken by FSInfo; with fewer than 3 reserved sectors there is no room,
    /// which it only reports. The copy is the boot sector as it now stands, naming itself.
    /// </summary>
    private static void MakeBackupBootSector(FatVolume v, CheckReport report, bool repair)
    {
        int reserved = v.Boot.ReservedSectors;
        if (reserved < 3)
        {
            report.Note("boot", "boot sector", "there is no backup boot sector, and no room for one (fewer than 3 reserved sectors)");
            return;
        }
        int fsInfo = v.Boot.FsInfoSectorField;
        int at = reserved >= 7 && fsInfo != 6 ? 6 : reserved - 1 == fsInfo ? reserved - 2 : reserved - 1;
        report.Add("boot", "boot sector", $"there is no backup boot sector; made in sector {at}", repair);
        var sector = new byte[512];
        if (!repair || v.Device.Read(0, sector) != 0)
        {
            return;
        }
        BinaryPrimitives.WriteUInt16LittleEndian(sector.AsSpan(FatBootRecord.Offsets.BackupBootSector), (ushort)at);
        v.Device.Write((long)at * v.Boot.BytesPerSector, sector);
        v.Device.Write(0, sector);
    }

    /// <summary>
    /// The FAT32 boot sector is damaged and the backup boot sector is sound (see
    /// <see cref="FatBootChoice"/>): the check has run on the backup's layout, and the
    /// repair copies the backup over the boot sector, as fsck.fat offers to when the two
    /// differ (it never chooses to on its own).
    /// </summary>
    private static void RestoreBootSector(FatVolume v, CheckReport report, bool repair)
    {
        report.Add("boot", "boot sector",
            $"the boot sector {v.BootDamage}; the backup boot sector in sector {v.BootFromBackup} is sound: "
            + "checking with it and copying it over the boot sector", repair);
        if (repair)
        {
            var sector = new byte[512];
            if (v.Device.Read((long)v.BootFromBackup * v.Boot.BytesPerSector, sector) == 0)
            {
                v.Device.Write(0, sector);
            }
        }
    }

    /// <summary>
    /// FAT16 and FAT32 also keep a "volume was shut down cleanly" bit in FAT entry 1; a
    /// driver that dies while mounted leaves it clear (ours and the kernel's msdosfs both
    /// use it), and fsck.fat reports it like the boot sector's dirty bit.
    /// </summary>
    private static void CheckCleanShutdownBit(FatVolume v, CheckReport report, bool repair)
    {
        uint cleanBit = v.Kind switch
        {
            FatKind.Fat16 => FatTable.Fat16CleanShutdown,
            FatKind.Fat32 => FatTable.Fat32CleanShutdown,
            _ => 0,
        };
        if (cleanBit == 0 || (v.Entries[1] & cleanBit) != 0)
        {
            return;
        }
        report.Add("fat", "FAT entry 1", "the clean-shutdown bit is clear: the file system was not properly unmounted; setting it", repair);
        v.Set(1, v.Entries[1] | cleanBit);
    }

    private static bool CheckFatCopies(FatVolume v, CheckReport report, bool repair)
    {
        bool differ = false;
        if (v.MirroringOff)
        {
            report.Note("fat", "boot sector", $"FAT mirroring is off: FAT {v.Primary + 1} is the active one, the others are not compared");
            return false;
        }
        byte[] trusted = v.Copies[v.Primary];
        string which = v.Primary == 0 ? "the first FAT" : $"FAT {v.Primary + 1}, the first that starts with the FAT signature";
        for (int i = 0; i < v.Copies.Length; i++)
        {
            if (i != v.Primary && !v.Copies[i].AsSpan().SequenceEqual(trusted))
            {
                int at = v.Copies[i].AsSpan().CommonPrefixLength(trusted);
                report.Add("fat", $"FAT {i + 1} byte {at}", $"FAT copies differ; using {which}", repair);
                differ = true;
            }
        }
        return differ;
    }

    /// <summary>Entries holding 1 or a cluster number past the end (but below the bad mark) become end-of-chain.</summary>
    private static void CheckFatValues(FatVolume v, CheckReport report, bool repair)
    {
        uint bad = FatTable.Bad(v.Kind);
        for (uint c = 2; c <= v.Boot.MaxCluster; c++)
        {
            uint value = v.Value(c);
            if (value == 1 || (value > v.Boot.MaxCluster && value < bad))
            {
                report.Add("fat", $"cluster {c}", $"entry {value:X} is out of range; set to end of chain", repair);
                v.Set(c, FatTable.EndMark(v.Kind));
            }
        }
    }

    /// <summary>The clusters free in the in-core FAT.</summary>
    private static long CountFree(FatVolume v)
    {
        long free = 0;
        for (uint c = 2; c <= v.Boot.MaxCluster; c++)
        {
            if (v.Value(c) == FatTable.Free)
            {
                free++;
            }
        }
        return free;
    }

    /// <summary>
    /// Allocated clusters no file claims are saved as FSCKnnnn.REC files in the root, as
    /// fsck.fat -a does (<see cref="FatLostChains"/> cuts them into chains,
    /// <see cref="FatRecFiles"/> makes the files). One finding sums them up; chains that
    /// found no room are a second one. Returns the number of lost clusters.
    /// </summary>
    private long SaveLostClusters(FatVolume v, FatTreeCheck tree, CheckReport report, bool repair)
    {
        long lost = 0;
        for (uint c = 2; c <= v.Boot.MaxCluster; c++)
        {
            if (FatLostChains.IsLost(v, tree.Owners, c))
            {
                lost++;
            }
        }
        if (lost == 0 || tree.Root is null)
        {
            return lost;
        }
        int clusterBytes = v.Boot.ClusterBytes;
        List<LostChain> chains = FatLostChains.Find(v, tree.Owners, uint.MaxValue / clusterBytes, out FatLostChains cut);
        FatRecFiles files = FatRecFiles.Save(v, tree.Root, tree.RootClusters, chains, _clock.Now);
        string message = $"{lost} lost cluster(s) ({lost * clusterBytes} bytes) in {chains.Count} chain(s)";
        if (cut.Cuts > 0)
        {
            message += cut.LoopsOpened > 0
                ? $" (cut apart at {cut.Cuts} link(s), {cut.LoopsOpened} of them closing a loop)"
                : $" (cut apart at {cut.Cuts} link(s) joining chains or running into a file, a free or a bad cluster)";
        }
        if (files.Saved.Count > 0)
        {
            // Under -n the same words with "would": nothing was written.
            message += $"; {(repair ? "saved" : "would be saved")} as {NameList(files.Saved)} in the root directory";
            if (files.RootGrowth > 0)
            {
                message += $", which {(repair ? "grew" : "would grow")} by {files.RootGrowth} cluster(s)";
            }
        }
        report.Add("clusters", $"cluster {chains[0].Start}", message, repair);
        if (files.NotSaved.Count > 0)
        {
            long clusters = files.NotSaved.Sum(c => c.Clusters);
            report.Add("clusters", $"cluster {files.NotSaved[0].Start}",
                $"{files.NotSaved.Count} lost chain(s) ({clusters} cluster(s)) {(repair ? "not saved" : "cannot be saved")}: {files.WhyNotSaved}; "
                + (repair ? "freed" : "would be freed"), repair);
        }
        if (repair)
        {
            Errno rc = tree.Root.WriteBack();
            if (rc != 0)
            {
                report.OperationalError = $"writing the root directory failed: {rc}";
            }
        }
        return lost;
    }

    /// <summary>"A", "A, B" ... up to four names, else the first and last with the count.</summary>
    private static string NameList(List<string> names) =>
        names.Count <= 4 ? string.Join(", ", names) : $"{names[0]} .. {names[^1]} ({names.Count} files)";

    /// <summary>
    /// The FSInfo free count and next-free hint. <paramref name="free"/> is the count the
    /// repair leaves. A count that matches the FAT as found (<paramref name="freeAsFound"/>,
    /// the <paramref name="lost"/> clusters in use: what a driver writing that FAT keeps),
    /// or as fsck.fat -n counts it (the lost clusters free, as it frees them without -f), is
    /// not a finding of its own (the lost clusters are one), only brought up to date by a
    /// repair.
    /// </summary>
    private static void CheckFsInfo(FatVolume v, long free, long freeAsFound, long lost, CheckReport report, bool repair)
    {
        int fsInfoSector = FatFsInfoPointer.Resolve(v, report, repair);
        if (fsInfoSector == 0)
        {
            return;
        }
        long at = (long)fsInfoSector * v.Boot.BytesPerSector;
        var sector = new byte[FsInfo.Size];
        if (v.Device.Read(at, sector) != 0)
        {
            report.Add("fsinfo", $"sector {fsInfoSector}", "cannot read the FSInfo sector");
            return;
        }
        uint haveFree = FsInfo.ReadFreeCount(sector);
        uint haveNext = FsInfo.ReadNextFree(sector);
        string? problem = null;
        if (!FsInfo.IsValid(sector))
        {
            problem = "FSInfo sector has bad signatures";
            haveFree = UnknownCount;
            haveNext = UnknownCount;
        }
        else if (haveFree != UnknownCount && haveFree != free && haveFree != freeAsFound && haveFree != freeAsFound + lost)
        {
            problem = $"free cluster count is {haveFree}, really {free}";
        }
        else if (haveNext != UnknownCount && (haveNext < 2 || haveNext > v.Boot.MaxCluster))
        {
            problem = $"next free cluster hint {haveNext} is outside the volume";
        }
        bool followsLost = haveFree != UnknownCount && haveFree != free && problem is null;
        if (problem is null && !(followsLost && repair))
        {
            return;
        }
        if (problem is not null)
        {
            report.Add("fsinfo", $"sector {fsInfoSector}", problem + "; fixed", repair);
        }
        if (repair)
        {
            uint next = haveNext >= 2 && haveNext <= v.Boot.MaxCluster ? haveNext : UnknownCount;
            FsInfoSector.Build(sector, (uint)free, next);
            v.Device.Write(at, sector);
        }
    }
}
