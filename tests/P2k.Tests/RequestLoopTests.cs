using System.Buffers.Binary;
using System.Text;
using RumpFs.FsDrivers.Tmpfs;
using RumpFs.Kernel;
using RumpFs.P2k.Bridge;
using RumpFs.P2k.Protocol;
using RumpFs.Vfs;
using Tmds.Linux;

namespace RumpFs.P2k.Tests;

/// <summary>
/// The request loop and the bridge driven through a socket that stands in for /dev/fuse:
/// INIT, one answer per request, none for FORGET, EIO for a handler that throws, ENOSYS for
/// unknown opcodes, EAGAIN for an INTERRUPT of an unknown request, a notification after the
/// answer to a failed write-back.
/// </summary>
public sealed unsafe class RequestLoopTests : IDisposable
{
    private readonly int _kernel;
    private readonly FuseSession _session;
    private readonly IFuseHandler _handler;
    private ulong _unique = 100;

    public RequestLoopTests() : this(null)
    {
    }

    private RequestLoopTests(IFuseHandler? handler)
    {
        int* sv = stackalloc int[2];
        Assert.Equal(0, LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_SEQPACKET | LibC.SOCK_CLOEXEC, 0, sv));
        _kernel = sv[1];
        _handler = handler ?? CreateBridge();
        _session = new FuseSession(new FuseDevice(sv[0]), _handler, workers: 2, debug: false);
        _session.Start();
    }

    private static P2kFileSystem CreateBridge(string tmpfsOptions = "size=16M", BridgeOptions? options = null)
    {
        FileSystemRegistry.Register(new TmpfsDriver());
        MountOptions.Parse(tmpfsOptions, out MountOptions o, out _);
        Assert.Equal(Errno.OK, FileSystemRegistry.Mount("tmpfs", null, o, out Mount? m, out _));
        Assert.Equal(Errno.OK, P2kFileSystem.Create(m!, options ?? new BridgeOptions(), out P2kFileSystem? fs));
        return fs!;
    }

    private ulong Send(FuseOpcode op, ulong nodeId, ReadOnlySpan<byte> body, uint uid = 0)
    {
        ulong unique = ++_unique;
        var msg = new byte[FuseInHeader.Size + body.Length];
        new FuseInHeader
        {
            Length = (uint)msg.Length,
            Opcode = op,
            Unique = unique,
            NodeId = nodeId,
            Uid = uid,
            Gid = uid,
            Pid = (uint)Environment.ProcessId,
        }.Write(msg);
        body.CopyTo(msg.AsSpan(FuseInHeader.Size));
        fixed (byte* p = msg)
        {
            Assert.Equal(msg.Length, (long)LibC.write(_kernel, p, msg.Length));
        }
        return unique;
    }

    private (int Error, ulong Unique, byte[] Payload) Receive()
    {
        var buf = new byte[1 << 16];
        var pfd = new pollfd { fd = _kernel, events = (short)LibC.POLLIN };
        Assert.True(LibC.poll(&pfd, 1, 10_000) == 1, "no reply within 10 s");
        long n;
        fixed (byte* p = buf)
        {
            n = LibC.read(_kernel, p, buf.Length);
        }
        (uint len, int error, ulong unique) = FuseOutHeader.Read(buf);
        Assert.Equal(n, (long)len);
        return (error, unique, buf[FuseOutHeader.Size..(int)n]);
    }

    private bool NothingPending()
    {
        var pfd = new pollfd { fd = _kernel, events = (short)LibC.POLLIN };
        return LibC.poll(&pfd, 1, 300) == 0;
    }

    private void Init(uint minor = 45)
    {
        var body = new byte[FuseInitIn.Size];
        BinaryPrimitives.WriteUInt32LittleEndian(body, 7);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), minor);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(8), 128 * 1024);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(12), 0xFFFFFFFF & ~(1u << 31));
        Send(FuseOpcode.Init, 0, body);
    }

    private static byte[] Name(string s) => Encoding.UTF8.GetBytes(s + "\0");

    [Fact]
    public void RequestBeforeInit_IsAnsweredEio_ThenInitNegotiates()
    {
        Send(FuseOpcode.GetAttr, 1, new byte[FuseGetAttrIn.Size]);
        Assert.Equal(-(int)Errno.EIO, Receive().Error);
        Init(minor: 45);
        (int error, _, byte[] init) = Receive();
        Assert.Equal(0, error);
        Assert.Equal(7u, BinaryPrimitives.ReadUInt32LittleEndian(init));
        Assert.Equal(FuseLimits.OurMinor, BinaryPrimitives.ReadUInt32LittleEndian(init.AsSpan(4)));
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(init.AsSpan(12));
        Assert.NotEqual(0u, flags & (uint)FuseInitFlags.DoReaddirplus);
        Assert.Equal(0u, flags & (uint)FuseInitFlags.ExportSupport);
        Assert.Equal(1u << 20, BinaryPrimitives.ReadUInt32LittleEndian(init.AsSpan(20)));
        Assert.Equal(256, BinaryPrimitives.ReadUInt16LittleEndian(init.AsSpan(28)));
    }

    [Fact]
    public void UnknownOpcode_AnswersEnosys_LookupOfMissingName_AnswersEnoent()
    {
        Init();
        Receive();
        ulong u = Send((FuseOpcode)4095, 1, []);
        (int error, ulong unique, _) = Receive();
        Assert.Equal(u, unique);
        Assert.Equal(-(int)Errno.ENOSYS, error);
        Send(FuseOpcode.Lookup, 1, Name("missing"));
        Assert.Equal(-(int)Errno.ENOENT, Receive().Error);
        Send(FuseOpcode.SetAttr, 1, new byte[4]); // shorter than fuse_setattr_in
        Assert.Equal(-(int)Errno.EINVAL, Receive().Error);
        Send(FuseOpcode.GetAttr, 999, new byte[FuseGetAttrIn.Size]);
        Assert.Equal(-(int)Errno.ESTALE, Receive().Error);
    }

    [Fact]
    public void Mkdir_Lookup_Forget_CountLookupsAndForgetGetsNoReply()
    {
        Init();
        Receive();
        var mkdir = new byte[FuseMkdirIn.Size + 4];
        BinaryPrimitives.WriteUInt32LittleEndian(mkdir, 0x1ED);
        Name("dir").CopyTo(mkdir, FuseMkdirIn.Size);
        Send(FuseOpcode.Mkdir, 1, mkdir);
        (int error, _, byte[] entry) = Receive();
        Assert.Equal(0, error);
        ulong node = BinaryPrimitives.ReadUInt64LittleEndian(entry);
        Assert.True(node > 1);
        Send(FuseOpcode.Lookup, 1, Name("dir"));
        (error, _, entry) = Receive();
        Assert.Equal(0, error);
        Assert.Equal(node, BinaryPrimitives.ReadUInt64LittleEndian(entry)); // same vnode, same node id
        var fs = (P2kFileSystem)_handler;
        Assert.Equal(2, fs.NodeCount);

        var forget = new byte[FuseForgetIn.Size];
        BinaryPrimitives.WriteUInt64LittleEndian(forget, 2);
        Send(FuseOpcode.Forget, node, forget);
        Assert.True(NothingPending(), "FORGET was answered");
        Send(FuseOpcode.GetAttr, node, new byte[FuseGetAttrIn.Size]);
        Assert.Equal(-(int)Errno.ESTALE, Receive().Error);
        Assert.Equal(1, fs.NodeCount);
    }

    [Fact]
    public void SetAttrTimes_ByANonOwnerWhoMayWrite_OnlyBothNowNeedsNoOwnership()
    {
        Init();
        Receive();
        // A file root owns and everyone may write (0666), in the root folder (tmpfs: 0777 root).
        var create = new byte[FuseOpenIn.CreateSize + 2];
        BinaryPrimitives.WriteUInt32LittleEndian(create.AsSpan(0), 0x42); // O_RDWR | O_CREAT
        BinaryPrimitives.WriteUInt32LittleEndian(create.AsSpan(4), 0x1B6);
        Name("f").CopyTo(create, FuseOpenIn.CreateSize);
        Send(FuseOpcode.Create, 1, create);
        (int error, _, byte[] entry) = Receive();
        Assert.Equal(0, error);
        ulong node = BinaryPrimitives.ReadUInt64LittleEndian(entry);

        int SetTimes(uint valid)
        {
            var a = new byte[FuseSetAttrIn.Size];
            BinaryPrimitives.WriteUInt32LittleEndian(a, valid);
            BinaryPrimitives.WriteInt64LittleEndian(a.AsSpan(FuseSetAttrIn.AtimeOffset), 1_000_000);
            BinaryPrimitives.WriteInt64LittleEndian(a.AsSpan(FuseSetAttrIn.MtimeOffset), 1_000_000);
            Send(FuseOpcode.SetAttr, node, a, uid: 1000);
            return Receive().Error;
        }

        const uint A = FuseSetAttrIn.Atime, M = FuseSetAttrIn.Mtime, ANow = FuseSetAttrIn.AtimeNow, MNow = FuseSetAttrIn.MtimeNow;
        Assert.Equal(0, SetTimes(A | M | ANow | MNow));                 // utimensat(NULL): write access is enough
        Assert.Equal(-(int)Errno.EPERM, SetTimes(A | ANow));            // UTIME_NOW with UTIME_OMIT: owner only
        Assert.Equal(-(int)Errno.EPERM, SetTimes(M | MNow));
        Assert.Equal(-(int)Errno.EPERM, SetTimes(A | M | ANow));        // one now, one given
        Assert.Equal(-(int)Errno.EPERM, SetTimes(A | M));
    }

    /// <summary>
    /// A write-back (FUSE_WRITE_CACHE) that fails is answered with its error even when part
    /// of it was stored (the kernel takes any success as the whole range written), and only
    /// after that answer comes FUSE_NOTIFY_INVAL_INODE for the node: unique 0, the code in
    /// the error field, offset 0 and length 0 (every page). A write(2)'s WRITE that stores
    /// part is answered with the count, and notifies nothing.
    /// </summary>
    [Fact]
    public void FailedWriteBack_AnsweredWithTheError_ThenTheNodesCacheIsInvalidated()
    {
        using var t = new RequestLoopTests(CreateBridge("size=64k", new BridgeOptions(WritebackCache: true)));
        t.Init();
        Assert.NotEqual(0u, BinaryPrimitives.ReadUInt32LittleEndian(t.Receive().Payload.AsSpan(12)) & (uint)FuseInitFlags.WritebackCache);
        var create = new byte[FuseOpenIn.CreateSize + 2];
        BinaryPrimitives.WriteUInt32LittleEndian(create.AsSpan(0), 0x42); // O_RDWR | O_CREAT
        BinaryPrimitives.WriteUInt32LittleEndian(create.AsSpan(4), 0x81A4); // S_IFREG | 0644
        Name("f").CopyTo(create, FuseOpenIn.CreateSize);
        t.Send(FuseOpcode.Create, 1, create);
        (int error, _, byte[] entry) = t.Receive();
        Assert.Equal(0, error);
        ulong node = BinaryPrimitives.ReadUInt64LittleEndian(entry);
        ulong fh = BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(FuseEntryOut.Size));

        byte[] Write(int size, uint ioFlags)
        {
            var body = new byte[FuseIoIn.RecordSize + size];
            BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(FuseIoIn.FhOffset), fh);
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(FuseIoIn.SizeOffset), (uint)size);
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(FuseIoIn.IoFlagsOffset), ioFlags);
            body.AsSpan(FuseIoIn.RecordSize).Fill(0x5A);
            return body;
        }

        // More than the 64 KiB file system holds: a write(2) learns how much went.
        ulong u = t.Send(FuseOpcode.Write, node, Write(128 << 10, 0));
        (error, ulong unique, byte[] written) = t.Receive();
        Assert.Equal((u, 0), (unique, error));
        Assert.InRange(BinaryPrimitives.ReadUInt32LittleEndian(written), 1u, (128u << 10) - 1);
        Assert.True(t.NothingPending(), "a write(2) that stored part notified the kernel");

        // The same as a write-back: the pages already there are rewritten, the rest has no room.
        u = t.Send(FuseOpcode.Write, node, Write(128 << 10, FuseIoIn.WriteCache));
        (error, unique, _) = t.Receive();
        Assert.Equal((u, -(int)Errno.ENOSPC), (unique, error));
        (error, unique, byte[] notification) = t.Receive();
        Assert.Equal((0UL, (int)FuseNotifyCode.InvalInode), (unique, error));
        Assert.Equal(FuseNotifyInvalInodeOut.Size, notification.Length);
        Assert.Equal(node, BinaryPrimitives.ReadUInt64LittleEndian(notification.AsSpan(FuseNotifyInvalInodeOut.InoOffset)));
        Assert.Equal(0L, BinaryPrimitives.ReadInt64LittleEndian(notification.AsSpan(FuseNotifyInvalInodeOut.OffOffset)));
        Assert.Equal(0L, BinaryPrimitives.ReadInt64LittleEndian(notification.AsSpan(FuseNotifyInvalInodeOut.LenOffset)));
        Assert.True(t.NothingPending(), "more than one notification for one failure");
    }

    /// <summary>
    /// On FAT (names ignore case) a spelling other than the stored one is cached for no time
    /// (entry_valid 0), and an RMDIR under it leaves the kernel's dentry of the stored one
    /// stale: with a kernel of 7.44 or later, FUSE_NOTIFY_INC_EPOCH (no record) comes before
    /// the answer, so the system call returns with nothing stale; an older kernel gets
    /// FUSE_NOTIFY_INVAL_ENTRY for the stored name only after the answer (its handler waits
    /// for the directory's lock, which the kernel holds until the answer).
    /// </summary>
    [Theory]
    [InlineData(45u)]
    [InlineData(40u)]
    public void Alias_RmdirUnderAnotherSpellingOnFat_EpochBeforeTheAnswer_OrInvalEntryAfterIt(uint kernelMinor)
    {
        using var images = new RumpFs.TestSupport.ScratchDir("p2k-loop-fat");
        string image = images.File("fat.img");
        RumpFs.TestSupport.OracleTool.RunExpect(0, "mkfs.fat", "-C", image, "1440");
        FileSystemRegistry.Register(new RumpFs.FsDrivers.Msdosfs.MsdosfsDriver());
        Assert.Equal(Errno.OK, RumpFs.Kernel.Devices.FileBlockDevice.Open(image, readOnly: false, out var dev, out _));
        MountOptions.Parse("", out MountOptions o, out _);
        Assert.Equal(Errno.OK, FileSystemRegistry.Mount("msdos", dev, o, out Mount? m, out _));
        Assert.Equal(Errno.OK, P2kFileSystem.Create(m!, new BridgeOptions(), out P2kFileSystem? fs));
        using (var t = new RequestLoopTests(fs))
        {
            t.Init(kernelMinor);
            t.Receive();
            var mkdir = new byte[FuseMkdirIn.Size + 8];
            BinaryPrimitives.WriteUInt32LittleEndian(mkdir, 0x1ED);
            Name("Sub Dir").CopyTo(mkdir, FuseMkdirIn.Size);
            t.Send(FuseOpcode.Mkdir, 1, mkdir);
            (int error, _, byte[] entry) = t.Receive();
            Assert.Equal(0, error);
            Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(FuseEntryOut.EntryValidOffset)));

            t.Send(FuseOpcode.Lookup, 1, Name("SUB DIR."));
            (error, _, entry) = t.Receive();
            Assert.Equal(0, error);
            Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(entry.AsSpan(FuseEntryOut.EntryValidOffset)));
            Assert.Equal(0U, BinaryPrimitives.ReadUInt32LittleEndian(entry.AsSpan(FuseEntryOut.EntryValidNsecOffset)));

            ulong u = t.Send(FuseOpcode.Rmdir, 1, Name("sub dir"));
            (int first, ulong firstUnique, byte[] firstPayload) = t.Receive();
            (int second, ulong secondUnique, byte[] secondPayload) = t.Receive();
            if (kernelMinor >= 44)
            {
                Assert.Equal((0UL, (int)FuseNotifyCode.IncEpoch), (firstUnique, first));
                Assert.Empty(firstPayload);
                Assert.Equal((u, 0), (secondUnique, second));
            }
            else
            {
                Assert.Equal((u, 0), (firstUnique, first));
                Assert.Equal((0UL, (int)FuseNotifyCode.InvalEntry), (secondUnique, second));
                Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(secondPayload.AsSpan(FuseNotifyInvalEntryOut.ParentOffset)));
                Assert.Equal(7U, BinaryPrimitives.ReadUInt32LittleEndian(secondPayload.AsSpan(FuseNotifyInvalEntryOut.NameLenOffset)));
                Assert.Equal("Sub Dir\0", Encoding.UTF8.GetString(secondPayload.AsSpan(FuseNotifyInvalEntryOut.Size)));
            }
            Assert.True(t.NothingPending(), "more than one notification for one rmdir");

            // Under the stored spelling nothing is left stale: no notification.
            t.Send(FuseOpcode.Mkdir, 1, mkdir);
            Assert.Equal(0, t.Receive().Error);
            t.Send(FuseOpcode.Rmdir, 1, Name("Sub Dir"));
            Assert.Equal(0, t.Receive().Error);
            Assert.True(t.NothingPending(), "a removal under the stored spelling notified the kernel");
        }
        fs!.ReleaseAll();
        Assert.Equal(Errno.OK, m!.Unmount());
    }

    [Fact]
    public void InterruptOfUnknownRequest_AnswersEagain()
    {
        Init();
        Receive();
        var body = new byte[FuseInterruptIn.Size];
        BinaryPrimitives.WriteUInt64LittleEndian(body, 123456);
        ulong u = Send(FuseOpcode.Interrupt, 0, body);
        (int error, ulong unique, _) = Receive();
        Assert.Equal(u, unique);
        Assert.Equal(-(int)Errno.EAGAIN, error);
    }

    [Fact]
    public void HandlerThatThrows_AnswersEio_AndTheLoopGoesOn()
    {
        using var t = new RequestLoopTests(new ThrowingHandler());
        t.Init();
        t.Receive();
        ulong u = t.Send(FuseOpcode.GetAttr, 1, new byte[FuseGetAttrIn.Size]);
        (int error, ulong unique, _) = t.Receive();
        Assert.Equal(u, unique);
        Assert.Equal(-(int)Errno.EIO, error);
        t.Send(FuseOpcode.StatFs, 1, []);
        Assert.Equal(-(int)Errno.ENOSYS, t.Receive().Error);
    }

    public void Dispose()
    {
        LibC.close(_kernel);
        Assert.True(_session.Wait(TimeSpan.FromSeconds(10)), "the loop did not end when the device closed");
        _session.Dispose();
    }

    private sealed class ThrowingHandler : IFuseHandler
    {
        public void Initialized(FuseConnection connection, FuseNotifier notifier)
        {
        }

        public void Handle(in FuseRequest request, FuseReply reply)
        {
            if (request.Opcode == FuseOpcode.GetAttr)
            {
                throw new InvalidOperationException("handler bug");
            }
            reply.Error(Errno.ENOSYS);
        }

        public void Destroyed()
        {
        }
    }
}
