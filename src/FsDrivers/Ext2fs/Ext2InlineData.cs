using System.Buffers.Binary;
using RumpFs.FsDrivers.Ext2fs.OnDisk;
using RumpFs.Kernel;
using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ext2fs;

/// <summary>
/// inline_data (read only): small files and directories kept in i_block, continued in the
/// "system.data" extended attribute. A directory's inline area starts with its parent's
/// inode number, then ordinary records. Read-write mounts of such file systems are refused.
/// </summary>
internal sealed partial class Ext2Node
{
    /// <summary>The inline bytes: i_block then the system.data value.</summary>
    private Errno InlineBytes(out byte[] data)
    {
        data = [];
        Errno e = GetXattr("system.data", out byte[]? more);
        if (e != Errno.OK && e != Errno.ENODATA)
        {
            return e;
        }
        more ??= [];
        data = new byte[Ext2Dinode.BlockArea + more.Length];
        Din.BlockBytes.CopyTo(data);
        more.CopyTo(data, Ext2Dinode.BlockArea);
        return Errno.OK;
    }

    private Errno ReadInline(long offset, Span<byte> buffer, out int bytesRead)
    {
        bytesRead = 0;
        Errno e = InlineBytes(out byte[] data);
        if (e != Errno.OK)
        {
            return e;
        }
        long size = Math.Min(Din.Size, data.Length);
        if (offset >= size)
        {
            return Errno.OK;
        }
        int n = (int)Math.Min(buffer.Length, size - offset);
        data.AsSpan((int)offset, n).CopyTo(buffer);
        bytesRead = n;
        return Errno.OK;
    }

    /// <summary>Entries of an inline directory, "." and ".." first.</summary>
    private Errno InlineDirEntries(out List<(byte[] Name, uint Ino, byte Type)> entries)
    {
        entries = [];
        Errno e = InlineBytes(out byte[] data);
        if (e != Errno.OK)
        {
            return e;
        }
        entries.Add(("."u8.ToArray(), Number, 2));
        entries.Add(("..".Select(c => (byte)c).ToArray(), BinaryPrimitives.ReadUInt32LittleEndian(data), 2));
        e = ParseInlineRecords(data.AsSpan(4, Ext2Dinode.BlockArea - 4), entries);
        if (e == Errno.OK && data.Length > Ext2Dinode.BlockArea)
        {
            e = ParseInlineRecords(data.AsSpan(Ext2Dinode.BlockArea), entries);
        }
        return e;
    }

    private Errno ParseInlineRecords(ReadOnlySpan<byte> b, List<(byte[] Name, uint Ino, byte Type)> entries)
    {
        int off = 0;
        while (off + Ext2DirEntry.HeaderSize <= b.Length)
        {
            int rec = Ext2DirEntry.RecLen(b, off);
            int nl = Ext2DirEntry.NameLen(b, off, Fs.Filetype);
            if (rec < Ext2DirEntry.HeaderSize || (rec & 3) != 0 || off + rec > b.Length || nl + Ext2DirEntry.HeaderSize > rec)
            {
                return Fs.Corrupt(0, $"inline directory {Number}: bad record");
            }
            uint ino = Ext2DirEntry.Inode(b, off);
            if (ino != 0)
            {
                entries.Add((Ext2DirEntry.Name(b, off, nl).ToArray(), ino, Ext2DirEntry.FileType(b, off, Fs.Filetype)));
            }
            off += rec;
        }
        return Errno.OK;
    }

    private Errno FindInline(ReadOnlySpan<byte> name, out uint ino)
    {
        ino = 0;
        Errno e = InlineDirEntries(out var entries);
        if (e != Errno.OK)
        {
            return e;
        }
        foreach (var x in entries)
        {
            if (name.SequenceEqual(x.Name))
            {
                ino = x.Ino;
                return Errno.OK;
            }
        }
        return Errno.ENOENT;
    }

    /// <summary>ReadDir of an inline directory; cookies are entry indexes + 1.</summary>
    private Errno ReadDirInline(long cookie, IDirEntrySink sink)
    {
        Errno e = InlineDirEntries(out var entries);
        if (e != Errno.OK)
        {
            return e;
        }
        for (long i = cookie; i < entries.Count; i++)
        {
            var x = entries[(int)i];
            VType t = x.Type != 0 ? TypeOfEntry(MakeFakeRecord(x.Type), 0, x.Ino) : TypeOfEntry([0, 0, 0, 0, 12, 0, 0, 0], 0, x.Ino);
            if (!sink.Add(new DirEntry(NameEncoding.GetString(x.Name), x.Ino, t, i + 1)))
            {
                break;
            }
        }
        return Errno.OK;
    }

    private static byte[] MakeFakeRecord(byte type) => [0, 0, 0, 0, 12, 0, 0, type];
}
