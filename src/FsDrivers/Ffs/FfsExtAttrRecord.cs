using RumpFs.Vfs;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>One attribute of an extended-attribute area: its name space, name and value.</summary>
internal sealed record FfsExtAttr(byte Namespace, byte[] Name, byte[] Value)
{
    /// <summary>EXTATTR_NAMESPACE_USER.</summary>
    public const byte UserNamespace = 1;

    /// <summary>EXTATTR_NAMESPACE_SYSTEM.</summary>
    public const byte SystemNamespace = 2;

    /// <summary>The Linux name ("user.NAME", "system.NAME"), or null for another name space.</summary>
    public string? LinuxName => Namespace switch
    {
        UserNamespace => "user." + NameEncoding.GetString(Name),
        SystemNamespace => "system." + NameEncoding.GetString(Name),
        _ => null,
    };
}

/// <summary>
/// struct extattr, the records of an extended-attribute area (sys/ufs/ufs/extattr.h), in
/// the file system's byte order: ea_length (u32, the whole record with its padding),
/// ea_namespace, ea_contentpadlen, ea_namelength (u8 each), the name; the value starts at
/// the next 8-byte boundary and ends ea_contentpadlen bytes before the record does.
/// </summary>
internal static class FfsExtAttrRecord
{
    public const int Length = 0;
    public const int NameSpace = 4;
    public const int ContentPadLen = 5;
    public const int NameLength = 6;
    public const int Name = 7;

    /// <summary>Bytes from a record's start to its value: the header and name, rounded to 8.</summary>
    public static int BaseLength(int nameLength) => (Name + nameLength + 7) & ~7;

    /// <summary>A record's whole length: header, name, value, each end rounded to 8 bytes.</summary>
    public static int RecordLength(FfsExtAttr a) => (BaseLength(a.Name.Length) + a.Value.Length + 7) & ~7;

    /// <summary>The area holding <paramref name="attrs"/>, records one after another.</summary>
    public static byte[] Encode(IReadOnlyList<FfsExtAttr> attrs, FfsByteOrder o)
    {
        byte[] area = new byte[attrs.Sum(RecordLength)];
        int at = 0;
        foreach (FfsExtAttr a in attrs)
        {
            int length = RecordLength(a);
            int baseLength = BaseLength(a.Name.Length);
            Span<byte> rec = area.AsSpan(at, length);
            o.WU32(rec, Length, (uint)length);
            rec[NameSpace] = a.Namespace;
            rec[ContentPadLen] = (byte)(length - baseLength - a.Value.Length);
            rec[NameLength] = (byte)a.Name.Length;
            a.Name.CopyTo(rec[Name..]);
            a.Value.CopyTo(rec[baseLength..]);
            at += length;
        }
        return area;
    }

    /// <summary>
    /// Decode every record of <paramref name="area"/>; null with <paramref name="problem"/>
    /// set when a record does not fit (a kernel would stop there, or loop on a zero length).
    /// </summary>
    public static List<FfsExtAttr>? Decode(ReadOnlySpan<byte> area, FfsByteOrder o, out string? problem)
    {
        var list = new List<FfsExtAttr>();
        Parse(area, o, list, out problem);
        return problem is null ? list : null;
    }

    /// <summary>
    /// Bytes from the area's start to the end of the last record that decodes: the whole
    /// area when every record does, else the start of the first that does not (with
    /// <paramref name="problem"/> set). The checker cuts a damaged area there, so what it
    /// keeps is exactly what <see cref="Decode"/> then reads.
    /// </summary>
    public static int GoodLength(ReadOnlySpan<byte> area, FfsByteOrder o, out string? problem) =>
        Parse(area, o, null, out problem);

    /// <summary>Walk the records, adding each to <paramref name="list"/> when given; returns where the walk stopped.</summary>
    private static int Parse(ReadOnlySpan<byte> area, FfsByteOrder o, List<FfsExtAttr>? list, out string? problem)
    {
        problem = null;
        int at = 0;
        while (at < area.Length)
        {
            if (area.Length - at < Name)
            {
                problem = $"record at {at} truncated";
                return at;
            }
            uint length = o.U32(area, at + Length);
            int nameLength = area[at + NameLength];
            int baseLength = BaseLength(nameLength);
            int pad = area[at + ContentPadLen];
            if (length % 8 != 0 || length < baseLength + pad || length > area.Length - at)
            {
                problem = $"record at {at} has length {length}";
                return at;
            }
            ReadOnlySpan<byte> rec = area.Slice(at, (int)length);
            list?.Add(new FfsExtAttr(rec[NameSpace], rec.Slice(Name, nameLength).ToArray(),
                rec[baseLength..((int)length - pad)].ToArray()));
            at += (int)length;
        }
        return at;
    }
}
