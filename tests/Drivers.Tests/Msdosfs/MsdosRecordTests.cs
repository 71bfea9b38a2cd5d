using RumpFs.FsDrivers.Msdosfs;
using RumpFs.Kernel;

namespace RumpFs.Drivers.Tests.Msdosfs;

/// <summary>The on-disk records: named offsets add up to the record sizes; conversions round-trip.</summary>
public sealed class MsdosRecordTests
{
    [Fact]
    public void FatDirEntry_OffsetsAddUpTo32()
    {
        (int Off, int Len)[] fields =
        [
            (FatDirEntry.OffName, 11), (FatDirEntry.OffAttr, 1), (FatDirEntry.OffNtRes, 1),
            (FatDirEntry.OffCTimeTenth, 1), (FatDirEntry.OffCTime, 2), (FatDirEntry.OffCDate, 2),
            (FatDirEntry.OffADate, 2), (FatDirEntry.OffClusterHi, 2), (FatDirEntry.OffMTime, 2),
            (FatDirEntry.OffMDate, 2), (FatDirEntry.OffClusterLo, 2), (FatDirEntry.OffSize, 4),
        ];
        AssertContiguous(fields, FatDirEntry.Size);
    }

    [Fact]
    public void LongNameEntry_OffsetsAddUpTo32()
    {
        (int Off, int Len)[] fields =
        [
            (LongNameEntry.OffOrd, 1), (LongNameEntry.OffName1, 10), (LongNameEntry.OffAttr, 1),
            (LongNameEntry.OffType, 1), (LongNameEntry.OffChecksum, 1), (LongNameEntry.OffName2, 12),
            (LongNameEntry.OffCluster, 2), (LongNameEntry.OffName3, 4),
        ];
        AssertContiguous(fields, LongNameEntry.Size);
    }

    [Fact]
    public void FsInfo_OffsetsAddUpTo512()
    {
        (int Off, int Len)[] fields =
        [
            (FsInfo.LeadSig, 4), (FsInfo.Reserved1, 480), (FsInfo.StructSig, 4), (FsInfo.FreeCount, 4),
            (FsInfo.NextFree, 4), (FsInfo.Reserved2, 12), (FsInfo.TrailSig, 4),
        ];
        AssertContiguous(fields, FsInfo.Size);
    }

    [Fact]
    public void BootSector_OffsetsAddUp()
    {
        (int Off, int Len)[] common =
        [
            (BootSectorLayout.Jump, 3), (BootSectorLayout.OemName, 8), (BootSectorLayout.BytesPerSector, 2),
            (BootSectorLayout.SectorsPerCluster, 1), (BootSectorLayout.ReservedSectors, 2), (BootSectorLayout.NumFats, 1),
            (BootSectorLayout.RootEntries, 2), (BootSectorLayout.TotalSectors16, 2), (BootSectorLayout.Media, 1),
            (BootSectorLayout.FatSize16, 2), (BootSectorLayout.SectorsPerTrack, 2), (BootSectorLayout.NumHeads, 2),
            (BootSectorLayout.HiddenSectors, 4), (BootSectorLayout.TotalSectors32, 4),
        ];
        AssertContiguous(common, BootSectorLayout.CommonEnd);
        (int Off, int Len)[] fat16 =
        [
            (BootSectorLayout.Fat16DriveNumber, 1), (BootSectorLayout.Fat16State, 1), (BootSectorLayout.Fat16BootSig, 1),
            (BootSectorLayout.Fat16VolumeId, 4), (BootSectorLayout.Fat16Label, 11), (BootSectorLayout.Fat16FsType, 8),
        ];
        AssertContiguous(fat16, BootSectorLayout.Fat16End, BootSectorLayout.CommonEnd);
        (int Off, int Len)[] fat32 =
        [
            (BootSectorLayout.Fat32FatSize, 4), (BootSectorLayout.Fat32ExtFlags, 2), (BootSectorLayout.Fat32Version, 2),
            (BootSectorLayout.Fat32RootCluster, 4), (BootSectorLayout.Fat32FsInfo, 2), (BootSectorLayout.Fat32BackupBoot, 2),
            (BootSectorLayout.Fat32Reserved, 12), (BootSectorLayout.Fat32DriveNumber, 1), (BootSectorLayout.Fat32State, 1),
            (BootSectorLayout.Fat32BootSig, 1), (BootSectorLayout.Fat32VolumeId, 4), (BootSectorLayout.Fat32Label, 11),
            (BootSectorLayout.Fat32FsType, 8),
        ];
        AssertContiguous(fat32, BootSectorLayout.Fat32End, BootSectorLayout.CommonEnd);
    }

    private static void AssertContiguous((int Off, int Len)[] fields, int size, int start = 0)
    {
        int at = start;
        foreach ((int off, int len) in fields)
        {
            Assert.Equal(at, off);
            at += len;
        }
        Assert.Equal(size, at);
    }

    [Fact]
    public void Checksum_OfKnownShortName_MatchesSpecification()
    {
        // Worked value: the checksum of "FILENA~1TXT" computed by the specification's algorithm.
        byte[] name = "FILENA~1TXT"u8.ToArray();
        byte sum = 0;
        foreach (byte b in name)
        {
            sum = (byte)(((sum & 1) << 7) + (sum >> 1) + b);
        }
        Assert.Equal(sum, LongNameEntry.Checksum(name));
    }

    [Theory]
    [InlineData("README.TXT", true, 0)]
    [InlineData("readme.txt", true, 0x18)]
    [InlineData("readme.TXT", true, 0x08)]
    [InlineData("README.txt", true, 0x10)]
    [InlineData("ReadMe.txt", false, 0)]
    [InlineData("long name.txt", false, 0)]
    [InlineData("toolongname.txt", false, 0)]
    [InlineData("a.b.c", false, 0)]
    public void TryExact83_DecidesWhetherALongNameIsNeeded(string name, bool exact, byte flags)
    {
        Assert.Equal(exact, MsdosConv.TryExact83(name, out _, out byte nt));
        if (exact)
        {
            Assert.Equal(flags, nt);
        }
    }

    [Fact]
    public void Basis_OfLongName_IsUpperCaseAndCut()
    {
        (string b, string e) = MsdosConv.Basis("file number 12.text", out bool lossy);
        Assert.True(lossy);
        Assert.Equal("FILENUMB", b);
        Assert.Equal("TEX", e);
        Assert.Equal("FILENU~1TEX", System.Text.Encoding.ASCII.GetString(MsdosConv.WithTail(b, e, 1)));
        Assert.Equal("FILE~123TEX", System.Text.Encoding.ASCII.GetString(MsdosConv.WithTail(b, e, 123)));
    }

    [Fact]
    public void DosTime_RoundTrips_WithTwoSecondMtimeAndTenMsCreation()
    {
        var t = new Timespec(1_700_000_001, 123_456_789);
        MsdosConv.ToDos(t, 3600, out ushort date, out ushort time, out byte tenth);
        Assert.Equal(new Timespec(1_700_000_000, 0), MsdosConv.FromDos(date, time, 0, 3600));
        Assert.Equal(new Timespec(1_700_000_001, 120_000_000), MsdosConv.FromDos(date, time, tenth, 3600));
    }

    [Fact]
    public void DosTime_UsesGmtoff()
    {
        var t = new Timespec(0 + (365L * 86400 * 20), 0);
        MsdosConv.ToDos(t, 0, out ushort d0, out ushort t0, out _);
        MsdosConv.ToDos(t, 7200, out ushort d2, out ushort t2, out _);
        Assert.Equal(d0, d2);
        Assert.Equal((t0 >> 11) + 2, t2 >> 11);
    }
}
