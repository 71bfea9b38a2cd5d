// rump_tmpfs: a tmpfs served through FUSE. See `rump_tmpfs --help`.
return RumpFs.P2k.Daemon.DaemonMain.Run(args, new RumpFs.FsDrivers.Tmpfs.TmpfsDriver());
