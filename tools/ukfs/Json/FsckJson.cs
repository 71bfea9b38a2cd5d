using System.Text.Json.Serialization;

namespace RumpFs.Tools.Ukfs.Json;

internal sealed record FindingJson(string Phase, string Location, string Message, string Severity, bool Repaired);

internal sealed record FsckJson(string Image, string FsType, bool Repair, int ExitCode, string? OperationalError,
    List<FindingJson> Findings);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(FsckJson))]
internal sealed partial class FsckJsonContext : JsonSerializerContext;
