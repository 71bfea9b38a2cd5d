// rump_ffs: an FFS (UFS1/UFS2) image served through FUSE. See `rump_ffs --help`.
return RumpFs.P2k.Daemon.DaemonMain.Run(args, new RumpFs.FsDrivers.Ffs.FfsDriver(), RumpFs.Ukfs.Partitions.DiskImage.TryOpen);
