namespace RumpFs.P2k.Protocol;

/// <summary>
/// What the request loop calls: the file-system side of the protocol (P2k's bridge to the
/// VFS, or a test double). Handle is called on several threads at once.
/// </summary>
internal interface IFuseHandler
{
    /// <summary>INIT flags the file-system side asks for beyond the loop's own (FUSE_POSIX_ACL, say).</summary>
    ulong ExtraInitFlags => 0;

    /// <summary>
    /// INIT has been answered; the connection parameters are settled, and notifications may
    /// be sent through <paramref name="notifier"/> (queued, written after the answer of the
    /// request that caused them).
    /// </summary>
    void Initialized(FuseConnection connection, FuseNotifier notifier);

    /// <summary>
    /// A request has just been read, before any is handled on this worker: a moment to note
    /// what later requests may need to know of at once (a RELEASE on its way). Must be quick
    /// and must not answer.
    /// </summary>
    void Received(in FuseRequest request)
    {
    }

    /// <summary>
    /// Answer one request through <paramref name="reply"/>, exactly once (or, for FORGET and
    /// BATCH_FORGET, not at all). Must not wait for the kernel.
    /// </summary>
    void Handle(in FuseRequest request, FuseReply reply);

    /// <summary>DESTROY arrived or the connection ended.</summary>
    void Destroyed();
}
