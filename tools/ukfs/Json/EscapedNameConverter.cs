using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RumpFs.Tools.Ukfs.Json;

/// <summary>
/// Writes strings that hold a name's escaped bytes (lone surrogates U+DC80..U+DCFF, see
/// NameEncoding) as JSON \u escapes of those surrogates, as Python's json module does, where
/// the serializer alone would write U+FFFD. A script gets the bytes back with
/// <c>os.fsencode(json.loads(...))</c>; every other string is written as usual.
/// </summary>
internal sealed class EscapedNameConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetString();

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        if (!HasLoneSurrogate(value))
        {
            writer.WriteStringValue(value);
            return;
        }
        var literal = new StringBuilder(value.Length + 16).Append('"');
        foreach (char c in value)
        {
            if (c is '"' or '\\')
            {
                literal.Append('\\').Append(c);
            }
            else if (c is >= ' ' and < '\x7f')
            {
                literal.Append(c);
            }
            else
            {
                literal.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
        }
        writer.WriteRawValue(literal.Append('"').ToString(), skipInputValidation: true);
    }

    // Dictionary keys (the superblock's field names) are never names from the image.
    public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetString()!;

    public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) =>
        writer.WritePropertyName(value);

    private static bool HasLoneSurrogate(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return true;
            }
        }
        return false;
    }
}
