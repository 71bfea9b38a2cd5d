// rump_msdos: a FAT12/16/32 image served through FUSE. See `rump_msdos --help`.
return RumpFs.P2k.Daemon.DaemonMain.Run(args, new RumpFs.FsDrivers.Msdosfs.MsdosfsDriver(), RumpFs.Ukfs.Partitions.DiskImage.TryOpen);
