using System.Text.Json.Serialization;

namespace RumpFs.Tools.Ukfs.Json;

internal sealed record FindingJson(string Phase, string Location, string Message, string Severity, bool Repaired);

/// <summary>
/// A check's result. Errors and Repaired count every error, also those past a checker's
/// listing limit, which Findings leaves out.
/// </summary>
internal sealed record FsckJson(string Image, string FsType, bool Repair, int ExitCode, string? OperationalError,
    int Errors, int Repaired, List<FindingJson> Findings);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(FsckJson))]
internal sealed partial class FsckJsonContext : JsonSerializerContext;
