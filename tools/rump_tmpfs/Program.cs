// rump_tmpfs: a tmpfs served through FUSE. See `rump_tmpfs --help`.
using Tmds.Linux;

// A user's tmpfs belongs to that user (options given on the command line still win).
string[] ownRoot = LibC.geteuid() == 0 ? [] : ["-o", $"uid={LibC.geteuid()},gid={LibC.getegid()}"];
return RumpFs.P2k.Daemon.DaemonMain.Run([.. ownRoot, .. args], new RumpFs.FsDrivers.Tmpfs.TmpfsDriver());
