using System.Text;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>
/// The volume label is kept twice: in the boot sector's extended BPB and as a volume entry in
/// the root directory. Windows and mlabel read the root's entry, blkid and Linux the boot
/// sector's, so the two must agree. The rules are fsck.fat -a's (check_label):
/// <list type="bullet">
/// <item>a root label that is not a valid label (control bytes, characters a short name may
/// not hold, all spaces, a leading space) is removed from both places;</item>
/// <item>a boot sector label with no root label is removed (set to "NO NAME");</item>
/// <item>otherwise the root's label is copied into the boot sector when the two differ.</item>
/// </list>
/// One difference: a boot sector without the 0x29 extended BPB has no label field, and none is
/// written into it (fsck.fat would write an extended BPB over what may be boot code there).
/// </summary>
internal static class FatLabelCheck
{
    private const string Phase = "label";
    private const int LabelLength = FatDirRecord.NameLength;
    private const byte ExtendedBpbWithLabel = 0x29;

    /// <summary>Characters a short name may not hold, which fsck.fat refuses in a label too.</summary>
    private static readonly System.Buffers.SearchValues<byte> Forbidden = System.Buffers.SearchValues.Create("\"*+,./:;<=>?[\\]|"u8);

    /// <summary>What the boot sector holds when a volume has no label.</summary>
    private static ReadOnlySpan<byte> NoName => "NO NAME    "u8;

    /// <summary>Check and, on repair, mend the labels; <paramref name="root"/> is the checked root (written here when changed).</summary>
    public static void Run(FatVolume v, FatDirectoryBuffer root, CheckReport report, bool repair)
    {
        // The boot sector the check runs on: under -n a damaged one is still in place, and the
        // backup stands in for it (under -y the backup has been copied over it by now).
        long bootAt = !repair && v.BootFromBackup != 0 ? (long)v.BootFromBackup * v.Boot.BytesPerSector : 0;
        var boot = new byte[512];
        if (v.Device.Read(bootAt, boot) != 0)
        {
            return; // the boot sector was read before; a failing read now is reported by the writes that follow, if any
        }
        int labelAt = v.Boot.ExtOffset + FatBootRecord.Offsets.ExtLabel;
        bool bootHasLabel = boot[v.Boot.ExtOffset + FatBootRecord.Offsets.ExtSignature] == ExtendedBpbWithLabel;
        byte[] bootLabel = boot.AsSpan(labelAt, LabelLength).ToArray();
        int entry = FindVolumeEntry(root, 0);
        byte[]? rootLabel = entry < 0 ? null : RootLabel(root.Entry(entry));

        // Invalid root labels go one after the other (fsck.fat needs a run for each): the
        // first valid one after them is then the label.
        while (rootLabel is not null && InvalidReason(rootLabel) is { } why)
        {
            report.Add(Phase, "/", $"volume label '{Show(rootLabel)}' in the root directory {why}; label removed", repair);
            Span<byte> e = root.Entry(entry);
            e[0] = FatDirRecord.Deleted;
            e[FatDirRecord.Attributes] = 0; // older label tools see a deleted entry with the label attribute as live
            root.Dirty = true;
            entry = FindVolumeEntry(root, entry + 1);
            rootLabel = entry < 0 ? null : RootLabel(root.Entry(entry));
            if (rootLabel is null && bootHasLabel && !bootLabel.AsSpan().SequenceEqual(NoName))
            {
                WriteBootLabel(v, NoName, repair);
                bootLabel = NoName.ToArray();
            }
        }
        if (!bootHasLabel)
        {
            // No label field to compare with (fsck.fat writes an extended BPB here; see the summary).
            report.Note(Phase, "boot sector", $"the extended boot signature is 0x{boot[v.Boot.ExtOffset + FatBootRecord.Offsets.ExtSignature]:X2}, "
                + "not 0x29: the boot sector keeps no label, and the root's label is not compared with one");
        }
        else if (rootLabel is null)
        {
            if (!bootLabel.AsSpan().SequenceEqual(NoName))
            {
                report.Add(Phase, "boot sector",
                    $"label '{Show(bootLabel)}' in the boot sector, but no volume label in the root directory; removed from the boot sector", repair);
                WriteBootLabel(v, NoName, repair);
            }
        }
        else if (!bootLabel.AsSpan().SequenceEqual(rootLabel))
        {
            report.Add(Phase, "boot sector",
                $"label '{Show(bootLabel)}' in the boot sector differs from volume label '{Show(rootLabel)}' in the root directory; "
                + "copied from the root directory", repair);
            WriteBootLabel(v, rootLabel, repair);
        }

        if (repair && root.Dirty)
        {
            Errno rc = root.WriteBack();
            if (rc != 0)
            {
                report.OperationalError ??= $"writing the root directory failed: {rc}";
            }
        }
    }

    /// <summary>
    /// The first live volume entry of the root from slot <paramref name="from"/> on, before the end marker; -1 when there is none.
    /// The tree check has already taken the label attribute off entries that own clusters.
    /// </summary>
    private static int FindVolumeEntry(FatDirectoryBuffer root, int from)
    {
        for (int i = from; i < root.EntryCount; i++)
        {
            ReadOnlySpan<byte> e = root.Entry(i);
            if (e[0] == FatDirRecord.EndMarker)
            {
                return -1;
            }
            if (e[0] != FatDirRecord.Deleted && !FatDirRecord.IsLongName(e) && (e[FatDirRecord.Attributes] & FatDirRecord.AttrVolume) != 0)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>The label as the boot sector would hold it: a leading 0x05 stands for 0xE5 in a directory entry.</summary>
    private static byte[] RootLabel(ReadOnlySpan<byte> entry)
    {
        byte[] label = entry[..LabelLength].ToArray();
        if (label[0] == FatDirRecord.KanjiE5)
        {
            label[0] = FatDirRecord.Deleted;
        }
        return label;
    }

    /// <summary>Why <paramref name="label"/> is not a valid label, or null; lower case is allowed, as fsck.fat allows it by default.</summary>
    private static string? InvalidReason(ReadOnlySpan<byte> label)
    {
        if (label.ContainsAnyInRange((byte)0, (byte)0x1F))
        {
            return "holds control characters";
        }
        if (label.IndexOfAny(Forbidden) >= 0)
        {
            return "holds characters a label may not hold";
        }
        if (label[0] == (byte)' ')
        {
            return label.IndexOfAnyExcept((byte)' ') < 0 ? "is blank" : "starts with a space";
        }
        return null;
    }

    /// <summary>The boot sector's label, and on FAT32 the backup boot sector's too, as fsck.fat keeps them alike.</summary>
    private static void WriteBootLabel(FatVolume v, ReadOnlySpan<byte> label, bool repair)
    {
        if (!repair)
        {
            return;
        }
        int labelAt = v.Boot.ExtOffset + FatBootRecord.Offsets.ExtLabel;
        var sectors = new List<long> { 0 };
        if (v.Kind == FatKind.Fat32 && v.Boot.BackupBootSector != 0 && v.Boot.BackupBootSector < v.Boot.ReservedSectors)
        {
            sectors.Add((long)v.Boot.BackupBootSector * v.Boot.BytesPerSector);
        }
        var sector = new byte[512];
        foreach (long at in sectors)
        {
            if (v.Device.Read(at, sector) == 0
                && sector[v.Boot.ExtOffset + FatBootRecord.Offsets.ExtSignature] == ExtendedBpbWithLabel)
            {
                label.CopyTo(sector.AsSpan(labelAt, LabelLength));
                v.Device.Write(at, sector);
            }
        }
    }

    private static string Show(ReadOnlySpan<byte> label)
    {
        var s = new StringBuilder(LabelLength);
        foreach (byte b in label)
        {
            // Bytes outside printable ASCII are code-page characters: shown as escapes, so that two labels that differ never print alike.
            s.Append(b is < 0x20 or >= 0x7F ? $"\\x{b:X2}" : ((char)b).ToString());
        }
        return s.ToString().TrimEnd(' ');
    }
}
