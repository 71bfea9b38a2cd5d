using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// struct direct, the variable-length directory record, in DIRBLKSIZ (512-byte) chunks.
/// 4.4BSD entries hold d_type and an 8-bit d_namlen; old (4.2BSD) entries hold a 16-bit
/// d_namlen where those two bytes are, so the decoder is told which format the volume uses.
/// </summary>
internal static class DirectEntry
{
    public const int Ino = 0;
    public const int RecLen = 4;
    public const int Type = 6;
    public const int NamLen = 7;
    /// <summary>Old format: 16-bit name length in place of d_type and d_namlen.</summary>
    public const int OldNamLen = 6;
    public const int Name = 8;
    public const int HeaderSize = 8;
    public const int MaxNameLen = 255;

    /// <summary>Bytes an entry with a name of <paramref name="namlen"/> bytes needs (DIRECTSIZ).</summary>
    public static int SizeFor(int namlen) => (HeaderSize + namlen + 1 + 3) & ~3;

    /// <summary>
    /// A live entry's name as ufs_dirbadentry wants it: no NUL or '/' inside, and a NUL right
    /// after it. The caller has checked that the record holds <see cref="SizeFor"/> bytes.
    /// </summary>
    public static bool NameValid(ReadOnlySpan<byte> b, int off, int namlen) =>
        !b.Slice(off + Name, namlen).ContainsAny((byte)0, (byte)'/') && b[off + Name + namlen] == 0;

    public static uint ReadIno(ReadOnlySpan<byte> b, int off, FfsByteOrder o) => o.U32(b, off + Ino);

    public static int ReadRecLen(ReadOnlySpan<byte> b, int off, FfsByteOrder o) => o.U16(b, off + RecLen);

    public static int ReadNamLen(ReadOnlySpan<byte> b, int off, FfsByteOrder o, bool types) =>
        types ? b[off + NamLen] : o.U16(b, off + OldNamLen);

    public static byte ReadType(ReadOnlySpan<byte> b, int off, bool types) => types ? b[off + Type] : (byte)0;

    public static void WriteIno(Span<byte> b, int off, FfsByteOrder o, uint ino) => o.WU32(b, off + Ino, ino);

    public static void WriteRecLen(Span<byte> b, int off, FfsByteOrder o, int reclen) => o.WU16(b, off + RecLen, (ushort)reclen);

    /// <summary>Write a whole entry header and name; the name bytes are followed by NUL padding.</summary>
    public static void Write(Span<byte> b, int off, FfsByteOrder o, bool types, uint ino, int reclen, byte dtype, ReadOnlySpan<byte> name)
    {
        o.WU32(b, off + Ino, ino);
        o.WU16(b, off + RecLen, (ushort)reclen);
        if (types)
        {
            b[off + Type] = dtype;
            b[off + NamLen] = (byte)name.Length;
        }
        else
        {
            o.WU16(b, off + OldNamLen, (ushort)name.Length);
        }
        name.CopyTo(b[(off + Name)..]);
        int pad = SizeFor(name.Length) - HeaderSize - name.Length;
        b.Slice(off + Name + name.Length, pad).Clear();
    }

    public static string DecodeName(ReadOnlySpan<byte> name) => NameEncoding.GetString(name);
}
