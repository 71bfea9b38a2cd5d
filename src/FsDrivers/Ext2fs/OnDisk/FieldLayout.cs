namespace RumpFs.FsDrivers.Ext2fs.OnDisk;

/// <summary>One named field of an on-disk record, for the test that a record's offsets add up.</summary>
internal readonly record struct Field(string Name, int Offset, int Length);
