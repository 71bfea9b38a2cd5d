// rump_ext2fs: an ext2/ext3/ext4 image served through FUSE. See `rump_ext2fs --help`.
return RumpFs.P2k.Daemon.DaemonMain.Run(args, new RumpFs.FsDrivers.Ext2fs.Ext2fsDriver(), RumpFs.Ukfs.Partitions.DiskImage.TryOpen);
