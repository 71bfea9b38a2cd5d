// The ukfs command and these tests run on Linux only (sfdisk, mke2fs, modes, links).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
