using RumpFs.FsDrivers.Ffs;

namespace RumpFs.Drivers.Tests.Ffs;

/// <summary>The whole-block map operations, which read a byte at a time, agree with the fragment bits.</summary>
public class CylinderGroupMapTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void BlockOperations_MatchFragmentBits(int frag)
    {
        const int frags = 512;
        byte[] block = new byte[CgFields.HeaderSize + (frags / 8)];
        var rnd = new Random(frag);
        var g = new CylinderGroup(block, FfsByteOrder.Little);
        FfsByteOrder.Little.W32(block, CgFields.FreeOff, CgFields.HeaderSize);
        for (int f = 0; f < frags; f++)
        {
            // Mostly whole free blocks, some partly used.
            g.SetFragFree(f, rnd.Next(4) != 0 || (f / frag) % 3 == 0);
        }
        for (int b = 0; b < frags; b += frag)
        {
            int free = 0;
            for (int f = b; f < b + frag; f++)
            {
                free += g.FragFree(f) ? 1 : 0;
            }
            Assert.Equal(free == frag, g.BlockFree(b, frag));
            Assert.Equal(free, g.FreeFragsInBlock(b, frag));
        }
        bool[] was = new bool[frags];
        for (int f = 0; f < frags; f++)
        {
            was[f] = g.FragFree(f);
        }
        int target = 5 * frag;
        g.ClearBlock(target, frag);
        for (int f = 0; f < frags; f++)
        {
            bool inBlock = f >= target && f < target + frag;
            Assert.Equal(!inBlock && was[f], g.FragFree(f));
        }
    }
}
