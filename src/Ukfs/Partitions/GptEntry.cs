using System.Buffers.Binary;
using System.Text;

namespace RumpFs.Ukfs.Partitions;

/// <summary>One GPT partition entry (128 bytes in every GPT seen in practice; the header says).</summary>
internal readonly record struct GptEntry(Guid TypeGuid, Guid UniqueGuid, ulong FirstLba, ulong LastLba, ulong Attributes, string Name)
{
    public const int MinSize = 128;

    private const int TypeGuidOffset = 0;
    private const int UniqueGuidOffset = 16;
    private const int FirstLbaOffset = 32;
    private const int LastLbaOffset = 40;
    private const int AttributesOffset = 48;
    private const int NameOffset = 56;
    private const int NameLength = 72;

    public bool IsUnused => TypeGuid == Guid.Empty;

    public static GptEntry Parse(ReadOnlySpan<byte> e)
    {
        string name = Encoding.Unicode.GetString(e.Slice(NameOffset, NameLength));
        int nul = name.IndexOf('\0', StringComparison.Ordinal);
        return new GptEntry(
            new Guid(e.Slice(TypeGuidOffset, 16)),
            new Guid(e.Slice(UniqueGuidOffset, 16)),
            BinaryPrimitives.ReadUInt64LittleEndian(e[FirstLbaOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(e[LastLbaOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(e[AttributesOffset..]),
            nul < 0 ? name : name[..nul]);
    }

    /// <summary>A readable name for the common partition type GUIDs.</summary>
    public static string TypeName(Guid type) => type.ToString("D").ToUpperInvariant() switch
    {
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" => "EFI system",
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4" => "Linux filesystem",
        "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" => "Microsoft basic data",
        "49F48D5A-B10E-11DC-B99B-0019D1879648" => "NetBSD FFS",
        "49F48DAA-B10E-11DC-B99B-0019D1879648" => "NetBSD LFS",
        "516E7CB6-6ECF-11D6-8FF8-00022D09712B" => "FreeBSD UFS",
        "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F" => "Linux swap",
        string g => g,
    };
}
