namespace RumpFs.FsDrivers.Msdosfs.Check;

/// <summary>One lost chain: its first cluster and how many clusters it has.</summary>
internal readonly record struct LostChain(uint Start, long Clusters);

/// <summary>
/// Cuts the allocated clusters no file claims into separate chains, each with one head and
/// one end, by fsck.fat's rules (its reclaim_file), so that each can become a file:
/// <list type="bullet">
/// <item>a lost cluster that points at a cluster a file owns, or at a free or bad one,
/// becomes the end of its chain;</item>
/// <item>a head is a lost cluster no other lost cluster points at; heads are walked from the
/// lowest cluster number up, each claiming what it reaches;</item>
/// <item>a walk that reaches a cluster an earlier walk claimed (two chains joining, or a
/// chain running into a loop) ends at the cluster before it;</item>
/// <item>what no head reaches are pure loops: each is cut at its lowest cluster, whose
/// successor becomes the head.</item>
/// </list>
/// Chains longer than a FAT file can hold (4 GiB - 1 bytes) are cut into pieces that fit,
/// where fsck.fat's size wraps round. The cuts go to the in-core FAT in both modes, like
/// every other repair; only repair mode writes it.
/// </summary>
internal sealed class FatLostChains
{
    private readonly FatVolume _v;
    private readonly int[] _owners;
    private readonly int[] _refs;
    private readonly bool[] _taken;

    private FatLostChains(FatVolume v, int[] owners)
    {
        _v = v;
        _owners = owners;
        _refs = new int[v.Entries.Length];
        _taken = new bool[v.Entries.Length];
    }

    /// <summary>Links cut to make the chains: loops opened, joins and chains running into files or free clusters ended.</summary>
    public int Cuts { get; private set; }

    /// <summary>Of <see cref="Cuts"/>, the loops opened.</summary>
    public int LoopsOpened { get; private set; }

    /// <summary>
    /// The lost chains in the order fsck.fat names them (by head cluster), each no longer
    /// than <paramref name="maxClusters"/>.
    /// </summary>
    public static List<LostChain> Find(FatVolume v, int[] owners, long maxClusters, out FatLostChains found)
    {
        found = new FatLostChains(v, owners);
        return found.Run(maxClusters);
    }

    /// <summary>Allocated, not bad, and claimed by no file.</summary>
    public static bool IsLost(FatVolume v, int[] owners, uint c)
    {
        uint value = v.Value(c);
        return owners[c] == 0 && value != FatTable.Free && !v.IsBad(value);
    }

    private bool IsLost(uint c) => IsLost(_v, _owners, c);

    private List<LostChain> Run(long maxClusters)
    {
        uint max = _v.Boot.MaxCluster;
        for (uint c = 2; c <= max; c++)
        {
            if (!IsLost(c) || _v.IsEnd(_v.Value(c)))
            {
                continue;
            }
            uint next = _v.Value(c);
            if (!_v.IsValidCluster(next) || !IsLost(next))
            {
                // Into a file, a free or bad cluster, or nowhere (values out of range were
                // made end marks before; this keeps the walk safe all the same).
                EndAt(c);
            }
            else
            {
                _refs[next]++;
            }
        }
        TakeHeads();
        for (uint c = 2; c <= max; c++)
        {
            if (IsLost(c) && !_taken[c])
            {
                // Reached by no head: c is the lowest cluster of a loop. Cut after it; its
                // successor is then pointed at by nothing and leads round back to c.
                uint next = _v.Value(c);
                EndAt(c);
                LoopsOpened++;
                if (--_refs[next] == 0)
                {
                    Walk(next);
                }
            }
        }
        var chains = new List<LostChain>();
        for (uint c = 2; c <= max; c++)
        {
            if (_taken[c] && _refs[c] == 0)
            {
                AddSplit(chains, c, maxClusters);
            }
        }
        return chains;
    }

    private void TakeHeads()
    {
        for (uint c = 2; c <= _v.Boot.MaxCluster; c++)
        {
            if (IsLost(c) && !_taken[c] && _refs[c] == 0)
            {
                Walk(c);
            }
        }
    }

    /// <summary>Claim the chain from <paramref name="head"/>; stop before a cluster already claimed, ending the chain there.</summary>
    private void Walk(uint head)
    {
        uint prev = 0;
        uint c = head;
        while (true)
        {
            if (_taken[c])
            {
                EndAt(prev); // prev is never 0: a head is claimed by no one
                _refs[c]--;
                return;
            }
            _taken[c] = true;
            uint next = _v.Value(c);
            if (_v.IsEnd(next))
            {
                return;
            }
            prev = c;
            c = next;
        }
    }

    /// <summary>Add the chain from <paramref name="head"/>, in pieces of at most <paramref name="maxClusters"/>.</summary>
    private void AddSplit(List<LostChain> chains, uint head, long maxClusters)
    {
        uint start = head;
        long count = 0;
        uint c = head;
        while (true)
        {
            count++;
            uint next = _v.Value(c);
            if (_v.IsEnd(next))
            {
                chains.Add(new LostChain(start, count));
                return;
            }
            if (count == maxClusters)
            {
                _v.Set(c, FatTable.EndMark(_v.Kind));
                chains.Add(new LostChain(start, count));
                start = next;
                count = 0;
            }
            c = next;
        }
    }

    private void EndAt(uint c)
    {
        _v.Set(c, FatTable.EndMark(_v.Kind));
        Cuts++;
    }
}
