using System.Text;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs.Check;

/// <summary>
/// Pass 2: a name that occurs twice in one directory (e2fsck's "Duplicate entry"). The
/// first entry in directory order keeps the name, so a lookup goes on finding what it found
/// before; a later one is renamed to the first free "name~N" inside its own record, as
/// e2fsck renames after rebuilding the directory. Without room for the longer name the
/// entry goes, and pass 4 takes an inode left without a name to lost+found.
/// </summary>
internal sealed partial class Ext2CheckRun
{
    /// <summary>Names met so far in the directory being scanned (bytes as Latin-1, one char each).</summary>
    private readonly HashSet<string> _namesSeen = new(StringComparer.Ordinal);

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
        if (_namesSeen.Add(Encoding.Latin1.GetString(name)))
        {
            return true;
        }
        uint ino = Ext2DirEntry.Inode(b, off);
        int recLen = Ext2DirEntry.RecLen(b, off);
        string shown = NameEncoding.GetString(name);
        byte[]? renamed = FreeVariant(name, recLen);
        if (renamed is null)
        {
            Error(Pass2, where, $"duplicate entry '{shown}' (inode {ino}) has no room for another name; removed");
            return false;
        }
        Error(Pass2, where, $"duplicate entry '{shown}' (inode {ino}); renamed to '{NameEncoding.GetString(renamed)}'");
        string key = Encoding.Latin1.GetString(renamed);
        _namesSeen.Add(key);
        _namesInDir!.Add(key);
        if (_repair)
        {
            Ext2DirEntry.Write(b, off, ino, recLen, renamed, Ext2DirEntry.FileType(b, off, _v.Filetype), _v.Filetype);
            _nameRewritten = true;
            changed = true;
        }
        return true;
    }

    /// <summary>"name~N" for the smallest N that no entry of the directory holds and that fits <paramref name="recLen"/>.</summary>
    private byte[]? FreeVariant(ReadOnlySpan<byte> name, int recLen)
    {
        _namesInDir ??= AllNames(_namesDir);
        for (int n = 0; n < 100_000; n++)
        {
            byte[] suffix = Encoding.ASCII.GetBytes($"~{n}");
            int keep = Math.Min(name.Length, Ext2DirEntry.MaxNameLen - suffix.Length);
            if (Ext2DirEntry.Needed(keep + suffix.Length) > recLen)
            {
                return null;
            }
            byte[] candidate = [.. name[..keep], .. suffix];
            string key = Encoding.Latin1.GetString(candidate);
            if (!_namesInDir.Contains(key) && !_namesSeen.Contains(key))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>The names in every readable record of <paramref name="dir"/>'s blocks (an inline directory's are those seen).</summary>
    private HashSet<string> AllNames(uint dir)
    {
        var names = new HashSet<string>(_namesSeen, StringComparer.Ordinal);
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
