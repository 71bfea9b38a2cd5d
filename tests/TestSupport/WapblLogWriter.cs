using System.Buffers.Binary;

namespace RumpFs.TestSupport;

/// <summary>
/// Writes a WAPBL log as NetBSD's kernel lays it out (sys/sys/wapbl_replay.h), written here
/// from that description so that the driver's replay is tested against the format rather
/// than against itself: two commit headers of one 512-byte log block each, then a circular
/// area of block, revocation and inode records. The records go in from <c>tail</c>,
/// wrapping at the end of the area.
/// </summary>
public sealed class WapblLogWriter(bool bigEndian, int logBytes)
{
    public const int Block = 512;
    private const uint TypeHeader = 0x5741424c;
    private const int EntriesPerBlockList = (Block - 16) / 16;
    private readonly List<byte[]> _records = [];

    public long CircOff => 2 * Block;

    public long CircSize => logBytes - CircOff;

    /// <summary>A transaction: the sectors in which <paramref name="b"/> differs from <paramref name="a"/>, as runs of at most 64 KiB.</summary>
    public static List<(long Sector, byte[] Data)> Transaction(byte[] a, byte[] b)
    {
        var runs = new List<(long, byte[])>();
        long start = -1;
        int sectors = a.Length / 512;
        for (int i = 0; i <= sectors; i++)
        {
            bool differs = i < sectors && !a.AsSpan(i * 512, 512).SequenceEqual(b.AsSpan(i * 512, 512));
            if (start >= 0 && (!differs || i - start == 128))
            {
                runs.Add((start, b.AsSpan((int)start * 512, (int)(i - start) * 512).ToArray()));
                start = -1;
            }
            if (differs && start < 0)
            {
                start = i;
            }
        }
        return runs;
    }

    /// <summary>
    /// A copy of a makefs image (superblock at 8 KiB, either byte order) whose superblock
    /// records an end-of-partition log of <paramref name="logBytes"/> just past the file
    /// system, with FS_DOWAPBL set: fs_journal_version and _location at 864 and 865,
    /// fs_journallocs[] (address and count in 512-byte units, block size) at 872, fs_flags at 1312.
    /// </summary>
    public static byte[] MarkLogged(byte[] image, int logBytes)
    {
        byte[] copy = (byte[])image.Clone();
        Span<byte> sb = copy.AsSpan(8192);
        bool big = BinaryPrimitives.ReadInt32BigEndian(sb[1372..]) is 0x011954 or 0x19540119;
        if (!big && BinaryPrimitives.ReadInt32LittleEndian(sb[1372..]) is not (0x011954 or 0x19540119))
        {
            throw new ArgumentException("no FFS superblock at 8 KiB", nameof(image));
        }
        var w = new WapblLogWriter(big, logBytes);
        sb[864] = 1;
        sb[865] = 1;
        w.W64(copy, 8192 + 872, image.Length / 512);
        w.W64(copy, 8192 + 880, logBytes / 512);
        w.W64(copy, 8192 + 888, 512);
        int flags = big ? BinaryPrimitives.ReadInt32BigEndian(sb[1312..]) : BinaryPrimitives.ReadInt32LittleEndian(sb[1312..]);
        w.W32(copy, 8192 + 1312, flags | 0x100);
        return copy;
    }

    /// <summary>A block record per 31 runs: each run is a 512-byte sector address and whole sectors of data.</summary>
    public void Blocks(IReadOnlyList<(long Sector, byte[] Data)> runs)
    {
        foreach ((long Sector, byte[] Data)[] chunk in runs.Chunk(EntriesPerBlockList))
        {
            int dataBytes = chunk.Sum(r => r.Data.Length);
            byte[] rec = new byte[Block + dataBytes];
            W32(rec, 0, TypeHeader + 3);
            W32(rec, 4, rec.Length);
            W32(rec, 8, chunk.Length);
            int at = Block;
            for (int i = 0; i < chunk.Length; i++)
            {
                W64(rec, 16 + (16 * i), chunk[i].Sector);
                W32(rec, 16 + (16 * i) + 12, chunk[i].Data.Length);
                chunk[i].Data.CopyTo(rec, at);
                at += chunk[i].Data.Length;
            }
            _records.Add(rec);
        }
    }

    /// <summary>A revocation record: earlier copies of these sectors must not be written back.</summary>
    public void Revoke(IReadOnlyList<(long Sector, int Bytes)> runs)
    {
        byte[] rec = new byte[Block];
        W32(rec, 0, TypeHeader + 2);
        W32(rec, 4, Block);
        W32(rec, 8, runs.Count);
        for (int i = 0; i < runs.Count; i++)
        {
            W64(rec, 16 + (16 * i), runs[i].Sector);
            W32(rec, 16 + (16 * i) + 12, runs[i].Bytes);
        }
        _records.Add(rec);
    }

    /// <summary>An inode record: allocated but unlinked inodes, with their modes.</summary>
    public void Inodes(bool clear, IReadOnlyList<(uint Ino, uint Mode)> inodes)
    {
        byte[] rec = new byte[Block];
        W32(rec, 0, TypeHeader + 1);
        W32(rec, 4, Block);
        W32(rec, 8, inodes.Count);
        W32(rec, 12, clear ? 1 : 0);
        for (int i = 0; i < inodes.Count; i++)
        {
            W32(rec, 16 + (8 * i), (int)inodes[i].Ino);
            W32(rec, 16 + (8 * i) + 4, (int)inodes[i].Mode);
        }
        _records.Add(rec);
    }

    /// <summary>A record as given (for damaged logs).</summary>
    public void Raw(byte[] record) => _records.Add(record);

    /// <summary>
    /// The log area: the records from <paramref name="tail"/> (an offset in the circular area),
    /// the current header in the slot of <paramref name="generation"/>, and an older header
    /// in the other slot whose head and tail would name garbage if it were believed.
    /// </summary>
    public byte[] Build(long tail, int generation, bool empty = false)
    {
        byte[] log = new byte[logBytes];
        long off = tail;
        foreach (byte[] rec in _records)
        {
            for (int done = 0; done < rec.Length; done += Block)
            {
                rec.AsSpan(done, Block).CopyTo(log.AsSpan((int)off));
                off += Block;
                if (off == CircOff + CircSize)
                {
                    off = CircOff;
                }
            }
        }
        long head = off;
        byte[] current = Header(generation, empty ? 0 : head, empty ? 0 : tail);
        byte[] stale = Header(generation - 1, CircOff + (3 * Block), CircOff + Block);
        current.CopyTo(log, (generation % 2) * Block);
        stale.CopyTo(log, ((generation + 1) % 2) * Block);
        return log;
    }

    private byte[] Header(int generation, long head, long tail)
    {
        byte[] h = new byte[Block];
        W32(h, 0, TypeHeader);
        W32(h, 4, Block);
        W32(h, 12, generation);
        W32(h, 36, 1);
        W32(h, 40, 9);
        W32(h, 44, 9);
        W64(h, 48, head);
        W64(h, 56, tail);
        W64(h, 64, CircOff);
        W64(h, 72, CircSize);
        return h;
    }

    private void W32(byte[] b, int at, long v)
    {
        if (bigEndian)
        {
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), (uint)v);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), (uint)v);
        }
    }

    private void W64(byte[] b, int at, long v)
    {
        if (bigEndian)
        {
            BinaryPrimitives.WriteInt64BigEndian(b.AsSpan(at), v);
        }
        else
        {
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(at), v);
        }
    }
}
