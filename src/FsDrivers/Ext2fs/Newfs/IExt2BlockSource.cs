namespace RumpFs.FsDrivers.Ext2fs.Newfs;

/// <summary>
/// Where <see cref="Ext2NewFile"/> takes its blocks from: newfs's block map, or the
/// checker's view of the blocks in use when a repair recreates the journal.
/// </summary>
internal interface IExt2BlockSource
{
    /// <summary>The first run of <paramref name="count"/> free blocks at or after <paramref name="goal"/>, marked used; null when there is none.</summary>
    uint? AllocRun(uint goal, uint count);

    /// <summary><paramref name="count"/> free blocks from <paramref name="goal"/> on, as runs of at most <paramref name="maxRun"/>, marked used; null when too few.</summary>
    List<(uint Start, uint Length)>? AllocRuns(uint goal, uint count, uint maxRun);

    /// <summary>Give back blocks an allocation took and then could not use (the map did not fit).</summary>
    void Release(uint start, uint count);
}
