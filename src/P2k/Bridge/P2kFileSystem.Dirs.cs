using RumpFs.Kernel;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;

namespace RumpFs.P2k.Bridge;

/// <summary>READDIR and READDIRPLUS: the VFS's resumable cookies are the dirent offsets.</summary>
internal sealed partial class P2kFileSystem
{
    private void ReadDir(in FuseRequest request, Vnode dvp, FuseReply reply, bool plus)
    {
        if (!request.Has(FuseIoIn.RecordSize))
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        FuseIoIn a = FuseIoIn.Read(request.Body);
        if (a.Offset > long.MaxValue)
        {
            reply.Error(Errno.EINVAL);
            return;
        }
        int budget = (int)Math.Min(a.Size, (uint)reply.Payload.Length);

        // Collect first, with the directory locked only inside Vop.ReadDir; lookups for
        // READDIRPLUS happen afterwards, so no child lock is taken under the parent's.
        var sink = new BudgetSink(budget, plus);
        Errno e = Vop.ReadDir(dvp, (long)a.Offset, sink);
        if (e != Errno.OK && sink.Entries.Count == 0)
        {
            reply.Error(e);
            return;
        }
        Span<byte> payload = reply.Payload;
        int used = 0;
        Credentials? cred = plus ? Caller(request) : null;
        foreach ((DirEntry entry, byte[] name) in sink.Entries)
        {
            if (plus)
            {
                used += WritePlusEntry(payload[used..], dvp, entry, name, cred!);
            }
            else
            {
                used += FuseDirent.Write(payload[used..], entry.Ino, (ulong)entry.NextCookie,
                    entry.Type.ToDirentType(), name);
            }
        }
        reply.Send(used);
    }

    /// <summary>
    /// One fuse_direntplus. Every entry but "." and ".." counts as a lookup of its node;
    /// for those two (which the kernel ignores) and for an entry gone meanwhile the entry
    /// part stays zero, which tells the kernel to take the name alone.
    /// </summary>
    private int WritePlusEntry(Span<byte> b, Vnode dvp, in DirEntry entry, byte[] name, Credentials cred)
    {
        Span<byte> entryOut = b[..FuseEntryOut.Size];
        entryOut.Clear();
        if (entry.Name is not ("." or ".."))
        {
            if (Vop.Lookup(dvp, entry.Name, cred, out Vnode? vp) == Errno.OK)
            {
                try
                {
                    if (Vop.GetAttr(vp!, out VAttr va) == Errno.OK)
                    {
                        (ulong id, ulong gen) = _nodes.Remember(vp!);
                        FuseEntryOut.Write(entryOut, id, gen, _entryValid, _attrValid, AttrConvert.ToFuse(va));
                    }
                }
                finally
                {
                    vp!.Release();
                }
            }
        }
        int direntSize = FuseDirent.Write(b[FuseEntryOut.Size..], entry.Ino, (ulong)entry.NextCookie,
            entry.Type.ToDirentType(), name);
        return FuseEntryOut.Size + direntSize;
    }

    /// <summary>Takes entries while their records fit in the kernel's buffer.</summary>
    private sealed class BudgetSink(int budget, bool plus) : IDirEntrySink
    {
        private int _used;

        public List<(DirEntry Entry, byte[] Name)> Entries { get; } = [];

        public bool Add(in DirEntry entry)
        {
            byte[] name = NameEncoding.GetBytes(entry.Name);
            int size = plus ? FuseDirent.PlusRecordSize(name.Length) : FuseDirent.RecordSize(name.Length);
            if (_used + size > budget)
            {
                return false;
            }
            _used += size;
            Entries.Add((entry, name));
            return true;
        }
    }
}
