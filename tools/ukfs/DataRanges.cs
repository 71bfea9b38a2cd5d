using RumpFs.Ukfs;

namespace RumpFs.Tools.Ukfs;

/// <summary>
/// The data ranges of an image file, from SEEK_DATA / SEEK_HOLE as cp finds them: what a
/// copy reads, leaving the holes between them holes.
/// </summary>
internal static class DataRanges
{
    /// <summary>[Start, End) of each range holding data below <paramref name="size"/>, in order.</summary>
    public static IEnumerable<(long Start, long End)> Of(UkfsFileStream input, long size)
    {
        long pos = 0;
        while (pos < size)
        {
            long data = input.NextData(pos);
            if (data < 0 || data >= size)
            {
                yield break;
            }
            long hole = input.NextHole(data) is var h and >= 0 ? Math.Min(h, size) : size;
            if (hole <= data)
            {
                yield break;
            }
            yield return (data, hole);
            pos = hole;
        }
    }
}
