using RumpFs.Kernel;
using RumpFs.Kernel.Devices;

namespace RumpFs.P2k.Daemon;

/// <summary>
/// Opens the image operand of a daemon as a block device; on failure <paramref name="error"/>
/// is one line for the user and nothing was opened.
/// </summary>
public delegate Errno DeviceOpener(string image, bool readOnly, out IBlockDevice? device, out string? error);
