using System.Text;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Pass 2: a name that occurs twice in one directory (e2fsck's "Duplicate entry"). The
/// first entry in directory order keeps the name, so a lookup goes on finding what it found
/// before; a later one is renamed inside its own record as e2fsck's mutate_name renames
/// ("~0" over the end of the name, within the length its record already holds, then counted
/// up while the name is taken), so the same duplicate gets the same new name from both.
/// Should no free name fit, the entry goes and pass 4 takes its inode to lost+found. A second
/// entry of the same name for the same inode is removed, as e2fsck removes it. Under repair
/// the directory is then rebuilt in pass 3A, as e2fsck rebuilds every directory with a
/// duplicate, and the renaming is done there as e2fsck does it: the entry of the lower inode
/// takes the new name. Only an inline directory, which is not rebuilt, is renamed in place.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>Names met so far in the directory being scanned (bytes as Latin-1, one char each), with the inode each names.</summary>
    private readonly Dictionary<string, uint> _namesSeen = new(StringComparer.Ordinal);

    /// <summary>Directories whose duplicates pass 3A renames as it rebuilds them.</summary>
    private readonly HashSet<uint> _duplicatesToRename = [];

    /// <summary>
    /// e2fsck's duplicate_search_and_fix on the names of a directory being rebuilt: of names
    /// that are equal, the entry of the highest inode keeps it, and each other one takes the
    /// first name <see cref="MutateName"/> reaches that no entry holds.
    /// </summary>
    private void RenameDuplicates(uint dir, List<RehashEntry> names)
    {
        var taken = names.Select(e => Encoding.Latin1.GetString(e.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var group in names.Select((e, i) => (e, i)).GroupBy(x => Encoding.Latin1.GetString(x.e.Name), StringComparer.Ordinal))
        {
            foreach ((RehashEntry e, int i) in group.OrderByDescending(x => x.e.Ino).Skip(1))
            {
                byte[] renamed = e.Name;
                do
                {
                    renamed = MutateName(renamed);
                }
                while (!taken.Add(Encoding.Latin1.GetString(renamed)));
                names[i] = e with { Name = renamed };
                Note(Pass3A, Ino(dir), $"duplicate '{NameEncoding.GetString(e.Name)}' (inode {e.Ino}) renamed to '{NameEncoding.GetString(renamed)}'");
            }
        }
    }

    /// <summary>Every name of the directory being scanned, read once a duplicate turns up.</summary>
    private HashSet<string>? _namesInDir;

    private uint _namesDir;

    private void StartDirectoryNames(uint dir)
    {
        _namesSeen.Clear();
        _namesInDir = null;
        _namesDir = dir;
    }

    /// <summary>False when the entry at <paramref name="off"/> must go (a duplicate with no room to rename).</summary>
    private bool CheckDuplicateName(string where, byte[] b, int off, int nl, ref bool changed)
    {
        ReadOnlySpan<byte> name = Ext2DirEntry.Name(b, off, nl);
        uint ino = Ext2DirEntry.Inode(b, off);
        if (_namesSeen.TryAdd(Encoding.Latin1.GetString(name), ino))
        {
            return true;
        }
        string shown = NameEncoding.GetString(name);
        if (_namesSeen[Encoding.Latin1.GetString(name)] == ino)
        {
            // The same name for the same inode twice: one entry goes, as e2fsck removes it.
            Error(Pass2, where, $"duplicate entry '{shown}' (inode {ino}) names the same inode again; removed");
            return false;
        }
        if (!_inlineDirs.Contains(_namesDir))
        {
            // e2fsck rebuilds every directory holding a duplicate and renames there, the
            // entry of the lower inode; so does pass 3A (RenameDuplicates).
            Error(Pass2, where, $"duplicate entry '{shown}' (inodes {_namesSeen[Encoding.Latin1.GetString(name)]} and {ino}); "
                + (_repair ? "the directory is rebuilt and the lower inode's entry renamed" : "the directory would be rebuilt and one renamed"));
            if (_repair)
            {
                _rehash.Add(_namesDir);
                _duplicatesToRename.Add(_namesDir);
            }
            return true;
        }
        int recLen = Ext2DirEntry.RecLen(b, off);
        byte[]? renamed = FreeVariant(name, recLen);
        if (renamed is null)
        {
            Error(Pass2, where, $"duplicate entry '{shown}' (inode {ino}) has no room for another name; removed");
            return false;
        }
        Error(Pass2, where, $"duplicate entry '{shown}' (inode {ino}); renamed to '{NameEncoding.GetString(renamed)}'");
        string key = Encoding.Latin1.GetString(renamed);
        _namesSeen[key] = ino;
        _namesInDir!.Add(key);
        if (_repair)
        {
            Ext2DirEntry.Write(b, off, ino, recLen, renamed, Ext2DirEntry.FileType(b, off, _v.Filetype), _v.Filetype);
            _nameRewritten = true;
            changed = true;
        }
        return true;
    }

    /// <summary>The first free name <see cref="MutateName"/> reaches from <paramref name="name"/> that fits <paramref name="recLen"/>.</summary>
    private byte[]? FreeVariant(ReadOnlySpan<byte> name, int recLen)
    {
        _namesInDir ??= AllNames(_namesDir);
        byte[] candidate = name.ToArray();
        for (int n = 0; n < 100_000; n++)
        {
            candidate = MutateName(candidate);
            if (Ext2DirEntry.Needed(candidate.Length) > recLen)
            {
                return null;
            }
            string key = Encoding.Latin1.GetString(candidate);
            if (!_namesInDir.Contains(key) && !_namesSeen.ContainsKey(key))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// e2fsck's next name for a duplicate: a name not yet ending in "~digits" gets "~0" over
    /// its end, the length rounded up only within the 4-byte step its record already holds
    /// (so the record never needs to grow); one that does is counted up ("~9" becomes "~10",
    /// taking one more byte of the name, and the first bytes advance when no more are left).
    /// </summary>
    internal static byte[] MutateName(byte[] name)
    {
        int len = name.Length;
        int i = len - 1;
        while (i > 0 && char.IsAsciiDigit((char)name[i]))
        {
            i--;
        }
        if (i == len - 1 || name[i] != '~')
        {
            int grown = Math.Min(((len - 1) & 3) < 2 ? len + 2 : (len + 3) & ~3, Ext2DirEntry.MaxNameLen);
            byte[] suffixed = new byte[grown];
            name.AsSpan(0, Math.Min(len, grown)).CopyTo(suffixed);
            suffixed[grown - 2] = (byte)'~';
            suffixed[grown - 1] = (byte)'0';
            return suffixed;
        }
        byte[] s = (byte[])name.Clone();
        for (i = len - 1; i >= 0; i--)
        {
            if (char.IsAsciiDigit((char)s[i]))
            {
                if (s[i] != '9')
                {
                    s[i]++;
                    return s;
                }
                s[i] = (byte)'0';
                continue;
            }
            if (i == 1)
            {
                // "~" is the second byte: the first one counts on instead.
                if (s[0] == 'z')
                {
                    s[0] = (byte)'A';
                }
                else if (s[0] == 'Z')
                {
                    s[0] = (byte)'~';
                    s[1] = (byte)'0';
                }
                else
                {
                    s[0]++;
                }
            }
            else if (i > 0)
            {
                s[i] = (byte)'1';
                s[i - 1] = (byte)'~';
            }
            else
            {
                s[0] = s[0] == '~' ? (byte)'a' : (byte)(s[0] + 1);
            }
            break;
        }
        return s;
    }

    /// <summary>The names in every readable record of <paramref name="dir"/>'s blocks (an inline directory's are those seen).</summary>
    private HashSet<string> AllNames(uint dir)
    {
        var names = new HashSet<string>(_namesSeen.Keys, StringComparer.Ordinal);
        if (!_dirs.TryGetValue(dir, out List<(uint Logical, ulong Physical)>? blocks))
        {
            return names;
        }
        foreach ((_, ulong phys) in blocks)
        {
            if (_v.Read(phys, out byte[] b) != Errno.OK)
            {
                continue;
            }
            int off = 0;
            while (off + Ext2DirEntry.HeaderSize <= b.Length)
            {
                int rl = Ext2DirEntry.RecLen(b, off);
                int nl = Ext2DirEntry.NameLen(b, off, _v.Filetype);
                if (rl < 12 || off + rl > b.Length || Ext2DirEntry.HeaderSize + nl > rl)
                {
                    break;
                }
                if (Ext2DirEntry.Inode(b, off) != 0)
                {
                    names.Add(Encoding.Latin1.GetString(Ext2DirEntry.Name(b, off, nl)));
                }
                off += rl;
            }
        }
        return names;
    }
}
