using System.Buffers.Binary;

namespace RumpFs.P2k.Protocol;

/// <summary>struct fuse_in_header: the 40 bytes in front of every request.</summary>
internal readonly struct FuseInHeader
{
    public const int Size = 40;

    // Field offsets within the header.
    internal const int LenOffset = 0;
    internal const int OpcodeOffset = 4;
    internal const int UniqueOffset = 8;
    internal const int NodeIdOffset = 16;
    internal const int UidOffset = 24;
    internal const int GidOffset = 28;
    internal const int PidOffset = 32;
    internal const int TotalExtLenOffset = 36;
    internal const int PaddingOffset = 38;

    /// <summary>Length of the whole request, header included.</summary>
    public uint Length { get; init; }
    public FuseOpcode Opcode { get; init; }
    public ulong Unique { get; init; }
    public ulong NodeId { get; init; }
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public uint Pid { get; init; }

    /// <summary>Length of extensions after the arguments, in 8-byte units (7.38).</summary>
    public ushort TotalExtLen { get; init; }

    public static FuseInHeader Read(ReadOnlySpan<byte> b) => new()
    {
        Length = BinaryPrimitives.ReadUInt32LittleEndian(b[LenOffset..]),
        Opcode = (FuseOpcode)BinaryPrimitives.ReadUInt32LittleEndian(b[OpcodeOffset..]),
        Unique = BinaryPrimitives.ReadUInt64LittleEndian(b[UniqueOffset..]),
        NodeId = BinaryPrimitives.ReadUInt64LittleEndian(b[NodeIdOffset..]),
        Uid = BinaryPrimitives.ReadUInt32LittleEndian(b[UidOffset..]),
        Gid = BinaryPrimitives.ReadUInt32LittleEndian(b[GidOffset..]),
        Pid = BinaryPrimitives.ReadUInt32LittleEndian(b[PidOffset..]),
        TotalExtLen = BinaryPrimitives.ReadUInt16LittleEndian(b[TotalExtLenOffset..]),
    };

    /// <summary>Encode (used by tests that feed requests to a session).</summary>
    public void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b[LenOffset..], Length);
        BinaryPrimitives.WriteUInt32LittleEndian(b[OpcodeOffset..], (uint)Opcode);
        BinaryPrimitives.WriteUInt64LittleEndian(b[UniqueOffset..], Unique);
        BinaryPrimitives.WriteUInt64LittleEndian(b[NodeIdOffset..], NodeId);
        BinaryPrimitives.WriteUInt32LittleEndian(b[UidOffset..], Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[GidOffset..], Gid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[PidOffset..], Pid);
        BinaryPrimitives.WriteUInt16LittleEndian(b[TotalExtLenOffset..], TotalExtLen);
        BinaryPrimitives.WriteUInt16LittleEndian(b[PaddingOffset..], 0);
    }
}

/// <summary>struct fuse_out_header: the 16 bytes in front of every reply.</summary>
internal static class FuseOutHeader
{
    public const int Size = 16;

    internal const int LenOffset = 0;
    internal const int ErrorOffset = 4;
    internal const int UniqueOffset = 8;

    /// <summary>Write a header; <paramref name="error"/> is 0 or a negated errno.</summary>
    public static void Write(Span<byte> b, uint length, int error, ulong unique)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b[LenOffset..], length);
        BinaryPrimitives.WriteInt32LittleEndian(b[ErrorOffset..], error);
        BinaryPrimitives.WriteUInt64LittleEndian(b[UniqueOffset..], unique);
    }

    public static (uint Length, int Error, ulong Unique) Read(ReadOnlySpan<byte> b) => (
        BinaryPrimitives.ReadUInt32LittleEndian(b[LenOffset..]),
        BinaryPrimitives.ReadInt32LittleEndian(b[ErrorOffset..]),
        BinaryPrimitives.ReadUInt64LittleEndian(b[UniqueOffset..]));
}
