using System.Text.Json.Serialization;

namespace RumpFs.Tools.Ukfs.Json;

// The shapes of --json output. Stable names in camelCase; CI scripts depend on them.

internal sealed record FileJson(
    string Path,
    string Name,
    string Type,
    string Mode,
    long Size,
    uint Nlink,
    uint Uid,
    uint Gid,
    ulong Ino,
    long Blocks,
    string Atime,
    string Mtime,
    string Ctime,
    string? Target);

internal sealed record DfJson(
    string Image,
    string FsType,
    int BlockSize,
    int FragmentSize,
    long Blocks,
    long BlocksFree,
    long BlocksAvailable,
    long Bytes,
    long BytesFree,
    long BytesAvailable,
    long Files,
    long FilesFree,
    int NameMax,
    bool ReadOnly);

internal sealed record FsTypeJson(string Driver, string Variant, bool DriverAvailable);

internal sealed record PartitionJson(
    string Selector,
    string Scheme,
    string Index,
    long Offset,
    long Length,
    string Type,
    string? Label,
    FsTypeJson? FileSystem);

internal sealed record ProbeJson(string Image, long Size, FsTypeJson? FileSystem, List<PartitionJson> Partitions, List<string> Warnings);

internal sealed record InfoJson(string Image, string FsType, bool ReadOnly, Dictionary<string, string> Superblock, DfJson Statvfs);

internal sealed record XattrJson(string Name, string Base64, string? Text);

internal sealed record XattrFileJson(string Path, List<XattrJson> Attributes);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, Converters = [typeof(EscapedNameConverter)])]
[JsonSerializable(typeof(List<FileJson>))]
[JsonSerializable(typeof(DfJson))]
[JsonSerializable(typeof(ProbeJson))]
[JsonSerializable(typeof(InfoJson))]
[JsonSerializable(typeof(List<XattrFileJson>))]
internal sealed partial class UkfsJsonContext : JsonSerializerContext;
