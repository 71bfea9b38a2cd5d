using RumpFs.Vfs;

namespace RumpFs.P2k.Protocol;

/// <summary>
/// One request as read from /dev/fuse: the header and the argument bytes after it (the
/// span points into the worker's buffer and is valid until the reply is sent).
/// </summary>
internal readonly ref struct FuseRequest
{
    public FuseRequest(FuseInHeader header, ReadOnlySpan<byte> body, FuseConnection? connection)
    {
        Header = header;
        Body = body;
        Connection = connection;
    }

    public FuseInHeader Header { get; }

    /// <summary>Arguments after the header (extensions, when present, excluded).</summary>
    public ReadOnlySpan<byte> Body { get; }

    public FuseConnection? Connection { get; }

    public FuseOpcode Opcode => Header.Opcode;
    public ulong NodeId => Header.NodeId;

    /// <summary>The body is at least <paramref name="size"/> bytes long.</summary>
    public bool Has(int size) => Body.Length >= size;

    /// <summary>
    /// Read a NUL-terminated name starting at <paramref name="offset"/>; <paramref name="next"/>
    /// is the offset after the NUL. False when no NUL is found (a malformed request).
    /// </summary>
    public bool TryReadName(int offset, out string name, out int next)
    {
        name = "";
        next = offset;
        if (offset > Body.Length)
        {
            return false;
        }
        ReadOnlySpan<byte> rest = Body[offset..];
        int nul = rest.IndexOf((byte)0);
        if (nul < 0)
        {
            return false;
        }
        name = NameEncoding.GetString(rest[..nul]);
        next = offset + nul + 1;
        return true;
    }

    public override string ToString() => $"unique={Header.Unique} {Header.Opcode} node={Header.NodeId}";
}
