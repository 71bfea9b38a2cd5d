namespace RumpFs.FsDrivers.Ffs;

/// <summary>FfsCheck, pass 1: the inodes' extended-attribute areas.</summary>
public static partial class FfsCheck
{
    private sealed partial class Checker
    {
        /// <summary>Blocks of areas, claimed once every inode's data is (<see cref="ClaimExtAreas"/>).</summary>
        private readonly List<FfsAreaBlock> _areaClaims = [];

        /// <summary>The data fragments of the inode being scanned, kept while it has an area to claim; else null.</summary>
        private HashSet<int>? _ownData;

        /// <summary>
        /// Check the inode's extended-attribute area and queue its blocks to be claimed;
        /// returns their fragments. The records are read as the driver reads them: an area
        /// it would refuse is a finding, not a clean verdict.
        /// </summary>
        private long ExtAreaBlocks(ulong ino, FfsDinode d)
        {
            if (FfsExtArea.SizeProblem(sb, d) is { } bad)
            {
                Add(FfsFindingKind.BlockMap, (long)ino, bad);
                return 0;
            }
            long frags = 0;
            bool readable = true;
            var own = new HashSet<int>();
            for (int i = 0; i < FfsSuperblock.NXAddr; i++)
            {
                long p = d.ExtB[i];
                if (p == 0)
                {
                    continue;
                }
                int n = FfsExtArea.FragsOf(sb, d.ExtSize, i);
                if (n == 0)
                {
                    Add(FfsFindingKind.BlockMap, (long)ino, InRange(p, 1)
                        ? $"extended-attribute block {i} past the end of the area"
                        : $"extended-attribute block {i} past the end of the area, at {p}, outside the data area");
                    continue;
                }
                if (!InRange(p, n))
                {
                    Add(FfsFindingKind.BlockMap, (long)ino, $"extended-attribute block {i} at {p} outside the data area");
                    readable = false;
                    continue;
                }
                _areaClaims.Add(new FfsAreaBlock(ino, i, p, n, own));
                _ownData = own;
                frags += n;
            }
            if (readable && d.ExtSize > 0)
            {
                FfsExtAreaCheck.ReadableLength(sb, d, dev, out string? problem);
                if (problem is not null)
                {
                    Add(FfsFindingKind.BlockMap, (long)ino, problem);
                }
            }
            return frags;
        }

        /// <summary>
        /// Claim the queued area blocks after every inode's data: an area block that lands on
        /// data (another file's or its own) or on another area is reported on the area, the
        /// claim the repair gives up, whatever the inode numbers.
        /// </summary>
        private void ClaimExtAreas()
        {
            foreach ((ulong ino, string why) in FfsExtAreaCheck.SharedAreas(sb, _areaClaims, _used).OrderBy(kv => kv.Key))
            {
                Add(FfsFindingKind.BlockMap, (long)ino, why);
            }
            foreach (FfsAreaBlock c in _areaClaims)
            {
                for (int k = 0; k < c.Frags; k++)
                {
                    _used[(int)(c.Frag + k)] = true;
                }
            }
        }
    }
}
