namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// The byte ranges of an attribute area already owned by an entry, a value or a header
/// (e2fsck's region.c): a new range is refused when it leaves the area or overlaps one
/// taken before. Areas hold a few dozen ranges, so a list is enough.
/// </summary>
internal sealed class Ext2XattrRegions(int size)
{
    private readonly List<(int Start, int End)> _taken = [];

    /// <summary>False when [start, start + length) is empty, outside the area or overlaps a taken range.</summary>
    public bool Take(int start, int length)
    {
        long end = (long)start + length;
        if (start < 0 || length <= 0 || end > size)
        {
            return false;
        }
        foreach ((int s, int e) in _taken)
        {
            if (start < e && end > s)
            {
                return false;
            }
        }
        _taken.Add((start, (int)end));
        return true;
    }
}
