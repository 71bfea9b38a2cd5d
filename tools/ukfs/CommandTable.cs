using System.Diagnostics.CodeAnalysis;
using RumpFs.Tools.Ukfs.Commands;

namespace RumpFs.Tools.Ukfs;

/// <summary>What a command needs before it runs.</summary>
internal enum Access
{
    /// <summary>Only the image (or partition) as a device, read-only: probe.</summary>
    DeviceReadOnly,

    /// <summary>A read-only mount: the image is opened read-only.</summary>
    MountReadOnly,

    /// <summary>A read-write mount.</summary>
    MountReadWrite,
}

/// <summary>One verb: its options type, what it needs, and the code that runs it.</summary>
internal sealed record CommandSpec(
    string Verb,
    [param: DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)]
    [property: DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)]
    Type OptionsType,
    Access Access,
    Func<CommandContext, object, int> Run);

/// <summary>
/// Every verb of `ukfs`. A new verb (fsck, newfs) is one options class in Verbs.cs and one
/// row here; a verb that works on the raw device (newfs) uses <see cref="Access.DeviceReadOnly"/>'s
/// path with its own access level added.
/// </summary>
internal static class CommandTable
{
    public static IReadOnlyList<CommandSpec> All { get; } =
    [
        new("ls", typeof(LsOptions), Access.MountReadOnly, (c, o) => ListCommands.Ls(c, (LsOptions)o)),
        new("cat", typeof(CatOptions), Access.MountReadOnly, (c, o) => FileCommands.Cat(c, (CatOptions)o)),
        new("get", typeof(GetOptions), Access.MountReadOnly, (c, o) => CopyOut.Run(c, (GetOptions)o)),
        new("put", typeof(PutOptions), Access.MountReadWrite, (c, o) => CopyIn.Run(c, (PutOptions)o)),
        new("mkdir", typeof(MkdirOptions), Access.MountReadWrite, (c, o) => FileCommands.Mkdir(c, (MkdirOptions)o)),
        new("rm", typeof(RmOptions), Access.MountReadWrite, (c, o) => FileCommands.Rm(c, (RmOptions)o)),
        new("cp", typeof(CpOptions), Access.MountReadWrite, (c, o) => CopyWithin.Run(c, (CpOptions)o)),
        new("mv", typeof(MvOptions), Access.MountReadWrite, (c, o) => FileCommands.Mv(c, (MvOptions)o)),
        new("ln", typeof(LnOptions), Access.MountReadWrite, (c, o) => FileCommands.Ln(c, (LnOptions)o)),
        new("chmod", typeof(ChmodOptions), Access.MountReadWrite, (c, o) => FileCommands.Chmod(c, (ChmodOptions)o)),
        new("chown", typeof(ChownOptions), Access.MountReadWrite, (c, o) => FileCommands.Chown(c, (ChownOptions)o)),
        new("touch", typeof(TouchOptions), Access.MountReadWrite, (c, o) => FileCommands.Touch(c, (TouchOptions)o)),
        new("truncate", typeof(TruncateOptions), Access.MountReadWrite, (c, o) => FileCommands.Truncate(c, (TruncateOptions)o)),
        new("fallocate", typeof(FallocateOptions), Access.MountReadWrite, (c, o) => FileCommands.Fallocate(c, (FallocateOptions)o)),
        new("getfattr", typeof(GetfattrOptions), Access.MountReadOnly, (c, o) => XattrCommands.Getfattr(c, (GetfattrOptions)o)),
        new("setfattr", typeof(SetfattrOptions), Access.MountReadWrite, (c, o) => XattrCommands.Setfattr(c, (SetfattrOptions)o)),
        new("getfacl", typeof(GetfaclOptions), Access.MountReadOnly, (c, o) => AclCommands.Getfacl(c, (GetfaclOptions)o)),
        new("setfacl", typeof(SetfaclOptions), Access.MountReadWrite, (c, o) => AclCommands.Setfacl(c, (SetfaclOptions)o)),
        new("lsattr", typeof(LsattrOptions), Access.MountReadOnly, (c, o) => FileFlagCommands.Lsattr(c, (LsattrOptions)o)),
        new("chattr", typeof(ChattrOptions), Access.MountReadWrite, (c, o) => FileFlagCommands.Chattr(c, (ChattrOptions)o)),
        new("stat", typeof(StatOptions), Access.MountReadOnly, (c, o) => ListCommands.Stat(c, (StatOptions)o)),
        new("df", typeof(DfOptions), Access.MountReadOnly, (c, o) => InfoCommands.Df(c, (DfOptions)o)),
        new("tree", typeof(TreeOptions), Access.MountReadOnly, (c, o) => TreeCommand.Run(c, (TreeOptions)o)),
        new("du", typeof(DuOptions), Access.MountReadOnly, (c, o) => DuCommand.Run(c, (DuOptions)o)),
        new("find", typeof(FindOptions), Access.MountReadOnly, (c, o) => FindCommand.Run(c, (FindOptions)o)),
        new("probe", typeof(ProbeOptions), Access.DeviceReadOnly, (c, o) => InfoCommands.Probe(c, (ProbeOptions)o)),
        new("info", typeof(InfoOptions), Access.MountReadOnly, (c, o) => InfoCommands.Info(c, (InfoOptions)o)),
        new("fsck", typeof(FsckOptions), Access.DeviceReadOnly, (c, o) => FsckCommand.Run(c, (FsckOptions)o)),
        new("newfs", typeof(NewfsOptions), Access.DeviceReadOnly, (c, o) => NewfsCommand.Run(c, (NewfsOptions)o)),
    ];

    public static CommandSpec? Find(string verb) => All.FirstOrDefault(c => c.Verb == verb);
}
