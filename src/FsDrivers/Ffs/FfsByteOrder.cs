using System.Buffers.Binary;

namespace RumpFs.FsDrivers.Ffs;

/// <summary>
/// The byte order of one FFS image, chosen once at mount from the superblock magic (NetBSD's
/// FFS_EI). Every on-disk record reads and writes its fields through it, so no code above
/// the records ever asks which order the image uses.
/// </summary>
internal abstract class FfsByteOrder
{
    public static readonly FfsByteOrder Little = new LittleOrder();
    public static readonly FfsByteOrder Big = new BigOrder();

    public abstract bool IsBigEndian { get; }

    public abstract short I16(ReadOnlySpan<byte> b, int off);
    public abstract int I32(ReadOnlySpan<byte> b, int off);
    public abstract long I64(ReadOnlySpan<byte> b, int off);
    public abstract void W16(Span<byte> b, int off, short v);
    public abstract void W32(Span<byte> b, int off, int v);
    public abstract void W64(Span<byte> b, int off, long v);

    public ushort U16(ReadOnlySpan<byte> b, int off) => (ushort)I16(b, off);
    public uint U32(ReadOnlySpan<byte> b, int off) => (uint)I32(b, off);
    public void WU16(Span<byte> b, int off, ushort v) => W16(b, off, (short)v);
    public void WU32(Span<byte> b, int off, uint v) => W32(b, off, (int)v);

    /// <summary>Add <paramref name="delta"/> to the 32-bit counter at <paramref name="off"/>.</summary>
    public void Add32(Span<byte> b, int off, int delta) => W32(b, off, I32(b, off) + delta);

    public void Add64(Span<byte> b, int off, long delta) => W64(b, off, I64(b, off) + delta);

    public override string ToString() => IsBigEndian ? "big-endian" : "little-endian";

    private sealed class LittleOrder : FfsByteOrder
    {
        public override bool IsBigEndian => false;
        public override short I16(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadInt16LittleEndian(b[off..]);
        public override int I32(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadInt32LittleEndian(b[off..]);
        public override long I64(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadInt64LittleEndian(b[off..]);
        public override void W16(Span<byte> b, int off, short v) => BinaryPrimitives.WriteInt16LittleEndian(b[off..], v);
        public override void W32(Span<byte> b, int off, int v) => BinaryPrimitives.WriteInt32LittleEndian(b[off..], v);
        public override void W64(Span<byte> b, int off, long v) => BinaryPrimitives.WriteInt64LittleEndian(b[off..], v);
    }

    private sealed class BigOrder : FfsByteOrder
    {
        public override bool IsBigEndian => true;
        public override short I16(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadInt16BigEndian(b[off..]);
        public override int I32(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadInt32BigEndian(b[off..]);
        public override long I64(ReadOnlySpan<byte> b, int off) => BinaryPrimitives.ReadInt64BigEndian(b[off..]);
        public override void W16(Span<byte> b, int off, short v) => BinaryPrimitives.WriteInt16BigEndian(b[off..], v);
        public override void W32(Span<byte> b, int off, int v) => BinaryPrimitives.WriteInt32BigEndian(b[off..], v);
        public override void W64(Span<byte> b, int off, long v) => BinaryPrimitives.WriteInt64BigEndian(b[off..], v);
    }
}
