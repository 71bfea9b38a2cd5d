// In-process workloads on a FAT image through Vop and Namei, without FUSE: the driver's
// own cost, to set beside the mounted comparisons of bench.sh.
//
//   dotnet run -c Release --project bench/msdos/MsdosBench -- IMAGE [files] [megabytes]
//
// IMAGE must be a fresh mkfs.fat image (bench.sh makes one); it is modified.
using System.Diagnostics;
using System.Globalization;
using RumpFs.FsDrivers.Msdosfs;
using RumpFs.Kernel;
using RumpFs.Kernel.Devices;
using RumpFs.Vfs;

if (args.Length < 1)
{
    Console.Error.WriteLine("usage: MsdosBench IMAGE [files] [megabytes]");
    return 2;
}
string image = args[0];
int files = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
int megabytes = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 256;
FileSystemRegistry.Register(new MsdosfsDriver());
Credentials cred = Credentials.Root;

Mount MountImage()
{
    if (FileBlockDevice.Open(image, false, out FileBlockDevice? dev, out string? err) != Errno.OK)
    {
        throw new InvalidOperationException(err);
    }
    if (FileSystemRegistry.Mount("msdos", dev, new MountOptions(), out Mount? m, out err) != Errno.OK)
    {
        throw new InvalidOperationException(err);
    }
    return m!;
}

void Check(Errno e, string what)
{
    if (e != Errno.OK)
    {
        throw new InvalidOperationException($"{what}: {e}");
    }
}

void Report(string name, double seconds, string rate) =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-28} {seconds,8:F3} s  {rate}"));

Mount mount = MountImage();
Check(mount.Root(out Vnode? root), "root");

// Sequential write and read of one file in 1 MiB requests.
byte[] chunk = new byte[1 << 20];
new Random(1).NextBytes(chunk);
var sw = Stopwatch.StartNew();
Check(Vop.Create(root!, "big.bin", 0x1A4, cred, out Vnode? big), "create big");
for (int i = 0; i < megabytes; i++)
{
    Check(Vop.Write(big!, (long)i << 20, chunk, out _), "write");
}
Check(Vop.Fsync(big!, false), "fsync");
big!.Release();
Report("sequential write", sw.Elapsed.TotalSeconds, $"{megabytes / sw.Elapsed.TotalSeconds:F0} MB/s");

root!.Release();
Check(mount.Unmount(), "unmount");
mount = MountImage();
Check(mount.Root(out root), "root");
sw.Restart();
Check(Vop.Lookup(root!, "big.bin", cred, out big), "lookup big");
for (int i = 0; i < megabytes; i++)
{
    Check(Vop.Read(big!, (long)i << 20, chunk, out _), "read");
}
big!.Release();
Report("sequential read (remounted)", sw.Elapsed.TotalSeconds, $"{megabytes / sw.Elapsed.TotalSeconds:F0} MB/s");

// Create, stat and unlink many files in one directory, timed per tenth to show growth.
Check(Vop.Mkdir(root!, "many", 0x1ED, cred, out Vnode? dir), "mkdir");
sw.Restart();
var tenths = new List<double>();
var lap = Stopwatch.StartNew();
for (int i = 0; i < files; i++)
{
    Check(Vop.Create(dir!, $"file with a long name {i:D6}.txt", 0x1A4, cred, out Vnode? f), "create");
    Check(Vop.Write(f!, 0, chunk.AsSpan(0, 100), out _), "write small");
    f!.Release();
    if ((i + 1) % Math.Max(1, files / 10) == 0)
    {
        tenths.Add(lap.Elapsed.TotalMilliseconds);
        lap.Restart();
    }
}
Report($"create {files}", sw.Elapsed.TotalSeconds, $"{files / sw.Elapsed.TotalSeconds:F0}/s, per tenth ms: {string.Join(' ', tenths.Select(t => t.ToString("F0", CultureInfo.InvariantCulture)))}");
sw.Restart();
for (int i = 0; i < files; i++)
{
    Check(Vop.Lookup(dir!, $"FILE WITH A LONG NAME {i:D6}.TXT", cred, out Vnode? f), "lookup");
    Check(Vop.GetAttr(f!, out _), "stat");
    f!.Release();
}
Report($"stat {files}", sw.Elapsed.TotalSeconds, $"{files / sw.Elapsed.TotalSeconds:F0}/s");
sw.Restart();
for (int i = 0; i < files; i++)
{
    Check(Vop.Remove(dir!, $"file with a long name {i:D6}.txt", cred), "unlink");
}
Report($"unlink {files}", sw.Elapsed.TotalSeconds, $"{files / sw.Elapsed.TotalSeconds:F0}/s");
dir!.Release();
root!.Release();
sw.Restart();
Check(mount.Unmount(), "unmount");
Report("unmount (write-back)", sw.Elapsed.TotalSeconds, "");
return 0;
