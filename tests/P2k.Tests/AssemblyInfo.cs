// The mounted tests need Linux: /dev/fuse, mount(2), fusermount3.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// Mounts are a shared resource of the machine; the classes run one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
