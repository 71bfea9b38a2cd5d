using RumpFs.Kernel.Devices;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// The overlay a jbd2 replay fills (<see cref="OverlayDevice"/>), with the journal sequence
/// the replay reached, which clearing the journal records.
/// </summary>
internal sealed class JournalOverlayDevice(IBlockDevice inner) : OverlayDevice(inner)
{
    /// <summary>The journal sequence that follows the last replayed transaction.</summary>
    public uint NextSequence { get; set; }
}
