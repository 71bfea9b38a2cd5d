using RumpFs.Kernel;

namespace RumpFs.Vfs;

/// <summary>The stored spelling of a name, for front ends that cache names.</summary>
public static partial class Vop
{
    /// <summary>
    /// The spelling under which <paramref name="dvp"/> stores the entry that
    /// <paramref name="name"/> finds (<see cref="Vnode.StoredName"/>). A front end that lets
    /// its client cache names (FUSE's dentries) needs it where names ignore case: each
    /// spelling looked up is cached apart, and a rename or removal under one leaves the
    /// others naming the old entry. No permission check: it tells nothing a lookup would not.
    /// </summary>
    /// <param name="dvp">The directory (referenced, unlocked; locked here).</param>
    /// <param name="name">A name as given by a caller.</param>
    /// <param name="stored">The stored spelling; <paramref name="name"/> itself where names are exact.</param>
    public static Errno StoredName(Vnode dvp, string name, out string stored)
    {
        stored = name;
        if (!dvp.Mount.NamesIgnoreCase)
        {
            return Errno.OK;
        }
        if (dvp.Type != VType.Directory)
        {
            return Errno.ENOTDIR;
        }
        using (VnodeLocks.Take(dvp))
        {
            return dvp.StoredName(name, out stored);
        }
    }
}
